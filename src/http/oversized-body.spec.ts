import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { drainBody } from './oversized-body.js';

/** A request body still arriving: what is written to it is what the client has sent so far. */
function arriving(headers: Record<string, string> = {}): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers, complete: false }) as unknown as PassThrough & IncomingMessage;
}

const limits = { bytes: 1000, ms: 5_000 };

describe('drainBody', () => {
  it('reads a body to its end before resolving', async () => {
    const req = arriving();
    let resolved = false;
    const drained = drainBody(req, limits).then(() => (resolved = true));
    req.write(Buffer.alloc(400));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    req.end(Buffer.alloc(400));
    await drained;
    expect(req.readableEnded).toBe(true);
  });

  it('gives up once more than the byte bound has been read', async () => {
    const req = arriving();
    const drained = drainBody(req, limits);
    req.write(Buffer.alloc(600));
    req.write(Buffer.alloc(600));
    await drained;
    expect(req.readableEnded).toBe(false);
  });

  it('gives up at the time bound when the client stops sending', async () => {
    const req = arriving();
    const started = Date.now();
    await drainBody(req, { bytes: 1000, ms: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(req.readableEnded).toBe(false);
  });

  it('reads nothing of a body declared larger than the bound, nor of one already taken off the socket', async () => {
    const declared = arriving({ 'content-length': '5000' });
    await drainBody(declared, limits);
    expect(declared.readableFlowing).toBeNull();
    const complete = Object.assign(arriving(), { complete: true });
    await drainBody(complete, limits);
    expect(complete.readableFlowing).toBeNull();
  });
});
