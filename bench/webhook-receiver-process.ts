/**
 * The bench's webhook receiver, a process of its own (as a real receiver is): on loopback, it answers 204 at once
 * and notes when each event arrived. It does not check signatures (the tests do, with `standardwebhooks`). Driven
 * over IPC by `webhook-receiver.ts`: it sends `{ url }` once listening, and answers each request with its `id`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceiverReply, ReceiverRequest, WebhookLag } from './webhook-receiver.js';

const arrivals = new Map<bigint, { occurredAt: number; arrivedAt: number }>();
let newest = 0n;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const arrivedAt = Date.now();
    const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: string; occurredAt: string };
    const seq = BigInt(event.seq);
    // At least once: an event sent again keeps its first arrival.
    if (!arrivals.has(seq)) arrivals.set(seq, { occurredAt: Date.parse(event.occurredAt), arrivedAt });
    if (seq > newest) newest = seq;
    res.writeHead(204).end();
  });
});

/** The lag of the `written` events with a seq in (after, through]; one that has not arrived is infinitely late. */
function lag(after: bigint, through: bigint, written: number): WebhookLag {
  const lags: number[] = [];
  for (const [seq, a] of arrivals) if (seq > after && seq <= through) lags.push(a.arrivedAt - a.occurredAt);
  const received = lags.length;
  for (let i = received; i < written; i++) lags.push(Number.POSITIVE_INFINITY);
  lags.sort((x, y) => x - y);
  const q = (p: number): number => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? NaN;
  return { events: written, received, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: lags.at(-1) ?? NaN };
}

process.on('message', (m: ReceiverRequest) => {
  const reply: ReceiverReply =
    m.op === 'newest'
      ? { id: m.id, newest: newest.toString() }
      : { id: m.id, lag: lag(BigInt(m.after), BigInt(m.through), m.written) };
  process.send!(reply);
});
process.on('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  process.send!({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
});
