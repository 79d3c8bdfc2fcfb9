import type { Change } from './admin-log-chain.js';
import { LoginRefusals } from './login-refusals.js';
import type { Writes } from '../writes/writes.js';
import type { Tx } from '../writes/serializable.js';

/** A write entrance that runs each logged write's use case and keeps what it logged, or fails while `down`. */
function entrance(): { writes: Writes; logged: Change[][]; down: { value: boolean } } {
  const logged: Change[][] = [];
  const down = { value: false };
  const writes = {
    submit: async (_request: unknown, work: { run: (tx: Tx, log: (c: Change) => void) => Promise<unknown> }) => {
      if (down.value) throw new Error('database away');
      const changes: Change[] = [];
      await work.run({} as Tx, (c) => changes.push(c));
      logged.push(changes);
      return { value: undefined, replayed: false };
    },
  } as unknown as Writes;
  return { writes, logged, down };
}

const attempts = (changes: Change[]): number =>
  changes.reduce((n, c) => n + (c.after as { attempts: number }).attempts, 0);

describe('LoginRefusals', () => {
  it('writes one record per kind, username (any case) and address, with its number of attempts', async () => {
    const { writes, logged } = entrance();
    const refusals = new LoginRefusals(writes);
    refusals.record('refused', 'Bob', '10.0.0.1');
    refusals.record('refused', 'bob', '10.0.0.1');
    refusals.record('refused', 'bob', '10.0.0.2');
    refusals.record('rateLimited', 'bob', '10.0.0.1');
    await refusals.beforeApplicationShutdown();
    expect(logged).toHaveLength(1);
    expect(
      logged[0]!.map((c) => [
        c.action,
        c.resourceId,
        c.ledgerId,
        c.before,
        (c.after as Record<string, unknown>).attempts,
      ]),
    ).toEqual([
      ['login.refused', 'Bob', null, null, 2],
      ['login.refused', 'bob', null, null, 1],
      ['login.rateLimited', 'bob', null, null, 1],
    ]);
    expect(logged[0]![0]!.after).toEqual({
      username: 'Bob',
      address: '10.0.0.1',
      attempts: 2,
      firstAt: expect.any(String),
      lastAt: expect.any(String),
    });
  });

  it('bounds a flood: past 1000 records, the rest are counted in one record per kind, and none is lost', async () => {
    const { writes, logged } = entrance();
    const refusals = new LoginRefusals(writes);
    for (let i = 0; i < 5000; i++) refusals.record(i % 2 === 0 ? 'refused' : 'rateLimited', `user-${i}`, '10.0.0.9');
    await refusals.beforeApplicationShutdown();
    const [changes] = logged;
    expect(changes).toHaveLength(1002);
    expect(attempts(changes!)).toBe(5000);
    expect(changes!.filter((c) => c.resourceId === '*').map((c) => [c.action, c.after])).toEqual([
      ['login.refused', expect.objectContaining({ username: null, address: null, attempts: 2000 })],
      ['login.rateLimited', expect.objectContaining({ username: null, address: null, attempts: 2000 })],
    ]);
  });

  it('keeps what it could not write and writes it with the next attempts', async () => {
    const { writes, logged, down } = entrance();
    const refusals = new LoginRefusals(writes);
    down.value = true;
    refusals.record('refused', 'eve', '10.0.0.3');
    await refusals.beforeApplicationShutdown();
    expect(logged).toEqual([]);
    down.value = false;
    refusals.record('refused', 'eve', '10.0.0.3');
    await refusals.beforeApplicationShutdown();
    expect(
      logged.map((changes) => changes.map((c) => [c.resourceId, (c.after as { attempts: number }).attempts])),
    ).toEqual([[['eve', 2]]]);
  });
});
