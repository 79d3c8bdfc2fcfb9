import type { IncomingMessage } from 'node:http';

/**
 * How much of a refused body is read and thrown away before its 413 goes out. Bounded so that a client cannot
 * keep the server reading forever: past either bound the answer is sent and the connection closed whatever is
 * still arriving (such a client may then be reset before it reads its 413, as it could be before).
 */
const DRAIN_LIMITS = { bytes: 8 * 1024 * 1024, ms: 10_000 };

/**
 * Reads and discards the rest of a request body that is being refused, up to `limits`, and resolves once it has
 * all arrived (or a bound is reached, or the request is gone).
 *
 * A 413 is decided as soon as the body is known to be too large, often before most of it has arrived, and its
 * connection is closed after the answer. Closing a socket with unread data makes the kernel send a reset, and a
 * client that writes its whole request before reading then fails its write (EPIPE) or loses the answer it had
 * not read yet (ECONNRESET). With the body read to its end first, the close is an orderly one after the answer.
 */
export function drainBody(req: IncomingMessage, limits: { bytes: number; ms: number } = DRAIN_LIMITS): Promise<void> {
  // `complete`: the parser has taken the whole body off the socket. In-process injected requests lack it.
  if (req.complete === true || req.readableEnded || req.destroyed) return Promise.resolve();
  const declared = Number(req.headers['content-length']);
  // A body declared larger than the bound would be cut off anyway: reading part of it helps nobody.
  if (declared > limits.bytes) return Promise.resolve();
  return new Promise((resolve) => {
    let drained = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', discard);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const discard = (chunk: Buffer): void => {
      drained += chunk.length;
      if (drained > limits.bytes) done();
    };
    const timer = setTimeout(done, limits.ms);
    req.on('data', discard);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}
