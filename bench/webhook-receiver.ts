import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Delivery lag to the bench's webhook, in ms from an event's `occurredAt` to its arrival at the receiver. */
export interface WebhookLag {
  /** events written during the point (the webhook subscribes to all of them) */
  events: number;
  /** of those, how many arrived before the wait after the point ran out */
  received: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export type ReceiverRequest =
  { id: number; op: 'newest' } | { id: number; op: 'lag'; after: string; through: string; written: number };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type ReceiverReply = { id: number; newest: string } | { id: number; lag: WebhookLag };

export interface Receiver {
  url: string;
  /** Resolves once an event with this seq or a later one has arrived, or after `timeoutMs`. */
  waitFor(seq: bigint, timeoutMs: number): Promise<void>;
  /** The lag of the `written` events with a seq in (after, through]; one that has not arrived is infinitely late. */
  lag(after: bigint, through: bigint, written: number): Promise<WebhookLag>;
  close(): Promise<void>;
}

/** Starts the receiver (`webhook-receiver-process.ts`) in a process of its own, off the load generator's loop. */
export async function startReceiver(): Promise<Receiver> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./webhook-receiver-process.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`the webhook receiver exited (${code})`)));
  });
  const pending = new Map<number, (reply: ReceiverReply) => void>();
  child.on('message', (m: ReceiverReply) => pending.get(m.id)?.(m));
  let next = 0;
  const ask = <R extends ReceiverReply>(request: WithoutId<ReceiverRequest>): Promise<R> =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, (reply) => {
        pending.delete(id);
        resolve(reply as R);
      });
      child.send({ ...request, id });
    });
  return {
    url,
    async waitFor(seq, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { newest } = await ask<{ id: number; newest: string }>({ op: 'newest' });
        if (BigInt(newest) >= seq) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async lag(after, through, written) {
      const reply = await ask<{ id: number; lag: WebhookLag }>({
        op: 'lag',
        after: after.toString(),
        through: through.toString(),
        written,
      });
      return reply.lag;
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
