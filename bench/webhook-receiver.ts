import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Delivery lag to the bench's webhook, in ms from an event's `occurredAt` to its arrival at the receiver. */
export interface WebhookLag {
  /** events written during the point (seq range) that the webhook subscribes to: all of them */
  events: number;
  /** of those, how many arrived before the wait after the point ran out */
  received: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Receiver {
  url: string;
  /** Resolves once an event with this seq or a later one has arrived, or after `timeoutMs`. */
  waitFor(seq: bigint, timeoutMs: number): Promise<void>;
  /**
   * The lag of the `written` events with a seq in (after, through]; one that has not arrived counts as infinitely
   * late.
   */
  lag(after: bigint, through: bigint, written: number): WebhookLag;
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback that answers 204 at once and notes when each event arrived. It does not check
 * signatures (the tests do, with `standardwebhooks`): here it shares the cores with the service and the load.
 */
export async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<bigint, { occurredAt: number; arrivedAt: number }>();
  let newest = 0n;
  const waiting = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const arrivedAt = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: string; occurredAt: string };
      const seq = BigInt(event.seq);
      // At least once: a resent event keeps its first arrival.
      if (!arrivals.has(seq)) arrivals.set(seq, { occurredAt: Date.parse(event.occurredAt), arrivedAt });
      if (seq > newest) newest = seq;
      for (const wake of waiting) wake();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    waitFor: (seq, timeoutMs) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiting.delete(check);
          resolve();
        };
        const check = (): void => {
          if (newest >= seq) done();
        };
        const timer = setTimeout(done, timeoutMs);
        waiting.add(check);
        check();
      }),
    lag: (after, through, written) => {
      const lags: number[] = [];
      let received = 0;
      for (const [seq, a] of arrivals) {
        if (seq > after && seq <= through) {
          lags.push(a.arrivedAt - a.occurredAt);
          received++;
        }
      }
      for (let i = received; i < written; i++) lags.push(Number.POSITIVE_INFINITY);
      lags.sort((x, y) => x - y);
      const q = (p: number): number => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? NaN;
      return { events: written, received, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: lags.at(-1) ?? NaN };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
