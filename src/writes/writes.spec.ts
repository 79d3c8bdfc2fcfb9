import { FakeTx } from '../../test/support/fake-tx.js';
import { LedgerError } from '../core/errors.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { UseCase } from './group.js';
import type { Outcome } from './idempotency.js';
import { MAX_CONCURRENT_TRANSACTIONS, type Serializable, SHARED_LOCK, type Tx } from './serializable.js';
import { Unavailable } from './unavailable.js';
import { SYSTEM_REQUEST } from './write-request.js';
import { lockKeyOf, PARALLEL_AFTER_MS, Writes } from './writes.js';

/**
 * Stands in for the SERIALIZABLE runner: each `run` is one transaction on a FakeTx, held open until the test
 * releases it, so that the test decides which writes arrive while a group is in flight.
 */
class FakeRunner {
  readonly transactions: FakeTx[] = [];
  private gates: (() => void)[] = [];
  failWith: Error | undefined = undefined;
  readonly events: string[] = [];
  /** The writer locks of each transaction, in the order they were asked for. */
  readonly locks: number[][] = [];

  async run<T>(work: (tx: Tx) => Promise<T>, lock: number[]): Promise<T> {
    const tx = new FakeTx();
    const n = this.transactions.push(tx);
    this.locks.push(lock);
    const gate = new Promise<void>((resolve) => this.gates.push(resolve));
    // pg's pool hands out a connection on a later turn of the event loop, as here.
    await new Promise((resolve) => setImmediate(resolve));
    this.events.push(`transaction ${n} opened`);
    await gate;
    if (this.failWith !== undefined) throw this.failWith;
    return work(tx);
  }

  /** Lets the oldest waiting transaction run. */
  release(): void {
    this.gates.shift()?.();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const valueOf = (o: Outcome): unknown => ('refusal' in o ? o.refusal.code : o.value);
const value =
  <T>(v: T): UseCase<T> =>
  () =>
    Promise.resolve(v);

describe('Writes (the entrance: group commit)', () => {
  let runner: FakeRunner;
  let writes: Writes;

  beforeEach(() => {
    runner = new FakeRunner();
    writes = new Writes(runner as unknown as Serializable, new MetricsService());
  });

  it('runs the writes that arrive while a group is in flight together, in the next transaction', async () => {
    const first = writes.submit(SYSTEM_REQUEST, { run: value(1) });
    const queued = [2, 3, 4].map((v) => writes.submit(SYSTEM_REQUEST, { run: value(v) }));
    expect(runner.transactions).toHaveLength(1);
    runner.release();
    expect(valueOf(await first)).toBe(1);
    await tick();
    expect(runner.transactions).toHaveLength(2);
    runner.release();
    expect((await Promise.all(queued)).map(valueOf)).toEqual([2, 3, 4]);
    // Each of the three ran under its own savepoint of the one transaction.
    expect(runner.transactions[1]!.statements('SAVEPOINT')).toHaveLength(3);
  });

  it('resolves a refusal as an outcome, never as a rejection, and commits its neighbours', async () => {
    const refused: UseCase<never> = () => Promise.reject(new LedgerError('ACCOUNT_CLOSED', 'closed'));
    const outcomes = Promise.all([
      writes.submit(SYSTEM_REQUEST, { run: value('a') }),
      writes.submit(SYSTEM_REQUEST, { run: refused }),
    ]);
    runner.release();
    await tick();
    runner.release();
    expect((await outcomes).map(valueOf)).toEqual(['a', 'ACCOUNT_CLOSED']);
  });

  it('fails a write that breaks for another reason alone, and runs the rest of its group again without it', async () => {
    const results = Promise.allSettled([
      writes.submit(SYSTEM_REQUEST, { run: value('first') }),
      writes.submit(SYSTEM_REQUEST, { run: value('a') }),
      writes.submit(SYSTEM_REQUEST, { run: () => Promise.reject(new Error('a bug')) }),
      writes.submit(SYSTEM_REQUEST, { run: value('b') }),
    ]);
    for (let i = 0; i < 3; i++) {
      runner.release();
      await tick();
    }
    const settled = await results;
    expect(settled.map((r) => (r.status === 'fulfilled' ? valueOf(r.value) : (r.reason as Error).message))).toEqual([
      'first',
      'a',
      'a bug',
      'b',
    ]);
    // first alone; then a, the bug and b, which failed; then a and b again.
    expect(runner.transactions).toHaveLength(3);
  });

  it('fails the whole group when the database cannot take it (retries ran out)', async () => {
    runner.failWith = new Unavailable('busy');
    const results = Promise.allSettled([
      writes.submit(SYSTEM_REQUEST, { run: value(1) }),
      writes.submit(SYSTEM_REQUEST, { run: value(2) }),
    ]);
    runner.release();
    await tick();
    runner.release();
    const settled = await results;
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(settled.map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(Unavailable),
      expect.any(Unavailable),
    ]);
  });

  it('takes every ready ledger into the next group, and starts a waiting one beside a slow group', async () => {
    const ledger = (c: string): string => `${c.repeat(8)}-0000-4000-8000-000000000000`;
    const [a, b, c] = [ledger('a'), ledger('b'), ledger('c')];
    const a1 = writes.submit(SYSTEM_REQUEST, { run: value('a1') }, a);
    // Nothing was in flight: a starts at once. b and the shared lane wait for the next group, together.
    const b1 = writes.submit(SYSTEM_REQUEST, { run: value('b1') }, b);
    const user = writes.submit(SYSTEM_REQUEST, { run: value('user') });
    expect(runner.locks).toEqual([[lockKeyOf(a)]]);
    runner.release();
    expect(valueOf(await a1)).toBe('a1');
    expect(runner.locks).toEqual([[lockKeyOf(a)], [lockKeyOf(b), SHARED_LOCK]]);
    // While that group is in flight, b's next write waits for b; c, whose lane is free, starts beside the group
    // once the group has run PARALLEL_AFTER_MS.
    const b2 = writes.submit(SYSTEM_REQUEST, { run: value('b2') }, b);
    const c1 = writes.submit(SYSTEM_REQUEST, { run: value('c1') }, c);
    expect(runner.transactions).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, PARALLEL_AFTER_MS + 20));
    expect(runner.locks.at(-1)).toEqual([lockKeyOf(c)]);
    runner.release();
    runner.release();
    expect((await Promise.all([b1, user, c1])).map(valueOf)).toEqual(['b1', 'user', 'c1']);
    await tick();
    expect(runner.locks.at(-1)).toEqual([lockKeyOf(b)]);
    runner.release();
    expect(valueOf(await b2)).toBe('b2');
    expect(runner.transactions).toHaveLength(4);
  });

  it(`keeps at most ${MAX_CONCURRENT_TRANSACTIONS} transactions in flight, however slow they are`, async () => {
    const ledger = (i: number): string => `${i}0000000-0000-4000-8000-00000000000${i}`;
    const all = [];
    for (let i = 0; i < MAX_CONCURRENT_TRANSACTIONS + 2; i++) {
      all.push(writes.submit(SYSTEM_REQUEST, { run: value(i) }, ledger(i)));
      await new Promise((resolve) => setTimeout(resolve, PARALLEL_AFTER_MS + 10));
    }
    expect(runner.transactions).toHaveLength(MAX_CONCURRENT_TRANSACTIONS);
    runner.release();
    await tick();
    await tick();
    // The two that waited went together into the transaction the first one's end made room for.
    expect(runner.transactions).toHaveLength(MAX_CONCURRENT_TRANSACTIONS + 1);
    expect(runner.locks.at(-1)).toEqual([
      lockKeyOf(ledger(MAX_CONCURRENT_TRANSACTIONS)),
      lockKeyOf(ledger(MAX_CONCURRENT_TRANSACTIONS + 1)),
    ]);
    for (let i = 0; i < MAX_CONCURRENT_TRANSACTIONS; i++) runner.release();
    expect((await Promise.all(all)).map(valueOf)).toEqual(all.map((_, i) => i));
  });

  it('starts the next group before the callers of the last one are answered', async () => {
    const first = writes.submit(SYSTEM_REQUEST, { run: value(1) }).then(() => runner.events.push('first answered'));
    const second = writes.submit(SYSTEM_REQUEST, { run: value(2) });
    runner.release();
    await first;
    runner.release();
    await second;
    expect(runner.events).toEqual(['transaction 1 opened', 'transaction 2 opened', 'first answered']);
  });
});
