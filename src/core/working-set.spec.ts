import fc from 'fast-check';
import {
  ZERO_COUNTERS,
  availableBalance,
  postedBalance,
  type AccountState,
  type Counters,
  type Side,
} from './balances.js';
import { AccountNotFound, InsufficientFunds, LedgerError } from './errors.js';
import { entryDates, GENESIS_HASH, entryHash, verifyChain, type ChainHead } from './hash-chain.js';
import { INT64_MAX } from './money.js';
import type { TransferRequest } from './transfer-rules.js';
import { WorkingSet, type LockedAccount, type PlannedEntry } from './working-set.js';

const T0 = '2026-11-21T08:15:58.123Z';
/** A movement recorded at `t` and dated then. */
const on = (t: string) => entryDates(new Date(t), null);
const T1 = '2026-11-21T08:15:59.000Z';
const T2 = '2026-11-21T08:16:00.456Z';
/** A chain head an account could have after earlier units of work. */
const HEAD_HASH = 'ab'.repeat(32);

function account(id: string, p: Partial<AccountState> = {}): AccountState {
  return {
    ledgerId: 'L',
    id,
    currency: 'USD',
    normalBalance: 'credit',
    allowNegative: false,
    status: 'active',
    counters: ZERO_COUNTERS,
    ...p,
  };
}

function locked(id: string, p: Partial<AccountState> = {}, head: ChainHead = genesis()): LockedAccount {
  return { state: account(id, p), head };
}

function genesis(): ChainHead {
  return { version: 0, lastHash: GENESIS_HASH };
}

/** A credit-normal account holding n posted. */
function funded(id: string, n: bigint, head: ChainHead = genesis()): LockedAccount {
  return locked(id, { counters: { ...ZERO_COUNTERS, creditsPosted: n } }, head);
}

/** An account that may go negative: the source money comes from. */
function source(id: string): LockedAccount {
  return locked(id, { allowNegative: true });
}

function req(p: Partial<TransferRequest> = {}): TransferRequest {
  return { debitAccountId: 'A', creditAccountId: 'B', amount: 100n, currency: 'USD', pending: false, ...p };
}

function counters(p: Partial<Counters> = {}): Counters {
  return { ...ZERO_COUNTERS, ...p };
}

function refusal(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LedgerError) return e;
    throw e;
  }
  throw new Error('expected a LedgerError');
}

function entriesOf(set: WorkingSet, id: string): PlannedEntry[] {
  return set.entries.filter((e) => e.accountId === id);
}

/** Deep copy of what the set observably holds, to compare before and after a refusal. */
function snapshot(set: WorkingSet, ids: string[]): unknown {
  return {
    entries: set.entries.map((e) => ({ ...e })),
    states: ids.map((id) => set.state(id)),
    changes: set.changes(),
  };
}

describe('WorkingSet: construction', () => {
  it('exposes the locked states by id, and undefined for an account it did not lock', () => {
    const a = funded('A', 500n);
    const set = new WorkingSet([a, locked('B')]);
    expect(set.state('A')).toEqual(a.state);
    expect(set.state('B')).toEqual(account('B'));
    expect(set.state('nope')).toBeUndefined();
  });

  it('starts with no entries and no changes', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });

  it('accepts any iterable, including an empty one', () => {
    function* gen(): Generator<LockedAccount> {
      yield funded('A', 1n);
    }
    expect(new WorkingSet(gen()).state('A')?.counters.creditsPosted).toBe(1n);
    expect(new WorkingSet([]).changes()).toEqual([]);
  });

  it('never mutates the locked accounts it was given', () => {
    const a = funded('A', 500n, { version: 3, lastHash: HEAD_HASH });
    const b = locked('B');
    const before = structuredClone([a, b]);
    const set = new WorkingSet([a, b]);
    set.open(req(), 't1', on(T0));
    set.open(req({ pending: true, amount: 50n }), 't2', on(T0));
    set.release('A', 'B', 50n);
    set.post('A', 'B', 50n, 't2', on(T1));
    expect([a, b]).toEqual(before);
    expect(b.state.counters).toBe(ZERO_COUNTERS);
  });
});

describe('WorkingSet.open: posted transfer', () => {
  it('writes a debit entry then a credit entry, chained from genesis', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req(), 't1', on(T0));

    const [d, c] = set.entries;
    expect(set.entries).toHaveLength(2);
    expect(d).toEqual({
      accountId: 'A',
      ledgerId: 'L',
      accountVersion: 1,
      transferId: 't1',
      direction: 'debit',
      amount: 100n,
      currency: 'USD',
      balanceAfter: 400n,
      createdAt: T0,
      prevHash: GENESIS_HASH,
      debitsAfter: 100n,
      creditsAfter: 500n,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(c).toEqual({
      accountId: 'B',
      ledgerId: 'L',
      accountVersion: 1,
      transferId: 't1',
      direction: 'credit',
      amount: 100n,
      currency: 'USD',
      balanceAfter: 100n,
      createdAt: T0,
      prevHash: GENESIS_HASH,
      debitsAfter: 0n,
      creditsAfter: 100n,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    for (const e of set.entries) expect(e.hash).toBe(entryHash(e.prevHash, e));
  });

  it('moves the posted counters of both accounts', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req(), 't1', on(T0));
    expect(set.state('A')?.counters).toEqual(counters({ creditsPosted: 500n, debitsPosted: 100n }));
    expect(set.state('B')?.counters).toEqual(counters({ creditsPosted: 100n }));
  });

  it('continues an existing chain from the locked head', () => {
    const set = new WorkingSet([
      funded('A', 500n, { version: 7, lastHash: HEAD_HASH }),
      locked('B', {}, { version: 2, lastHash: 'cd'.repeat(32) }),
    ]);
    set.open(req(), 't1', on(T0));
    const [d, c] = set.entries;
    expect(d).toMatchObject({ accountVersion: 8, prevHash: HEAD_HASH });
    expect(c).toMatchObject({ accountVersion: 3, prevHash: 'cd'.repeat(32) });
    expect(d!.hash).toBe(entryHash(HEAD_HASH, d!));
  });

  it('chains several transfers on the same account within one set', () => {
    const set = new WorkingSet([funded('A', 1000n), locked('B'), locked('C')]);
    set.open(req({ amount: 100n }), 't1', on(T0));
    set.open(req({ creditAccountId: 'C', amount: 200n }), 't2', on(T1));
    set.open(req({ amount: 300n }), 't3', on(T2));

    const a = entriesOf(set, 'A');
    expect(a.map((e) => e.accountVersion)).toEqual([1, 2, 3]);
    expect(a.map((e) => e.transferId)).toEqual(['t1', 't2', 't3']);
    expect(a.map((e) => e.createdAt)).toEqual([T0, T1, T2]);
    expect(a.map((e) => e.balanceAfter)).toEqual([900n, 700n, 400n]);
    expect(a.map((e) => [e.debitsAfter, e.creditsAfter])).toEqual([
      [100n, 1000n],
      [300n, 1000n],
      [600n, 1000n],
    ]);
    expect(a[0]!.prevHash).toBe(GENESIS_HASH);
    expect(a[1]!.prevHash).toBe(a[0]!.hash);
    expect(a[2]!.prevHash).toBe(a[1]!.hash);
    expect(new Set(a.map((e) => e.hash)).size).toBe(3);
    expect(verifyChain(a)).toEqual([]);

    const b = entriesOf(set, 'B');
    expect(b.map((e) => [e.accountVersion, e.balanceAfter])).toEqual([
      [1, 100n],
      [2, 400n],
    ]);
    expect(b[1]!.prevHash).toBe(b[0]!.hash);
    expect(verifyChain(b)).toEqual([]);
    expect(verifyChain(entriesOf(set, 'C'))).toEqual([]);
  });

  it('chains an account that is debited and credited in turn', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B')]);
    set.open(req({ amount: 100n }), 't1', on(T0));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'A', amount: 40n }), 't2', on(T1));
    set.open(req({ amount: 40n }), 't3', on(T2));
    const a = entriesOf(set, 'A');
    expect(a.map((e) => [e.direction, e.accountVersion, e.balanceAfter])).toEqual([
      ['debit', 1, 0n],
      ['credit', 2, 40n],
      ['debit', 3, 0n],
    ]);
    expect(verifyChain(a)).toEqual([]);
    const b = entriesOf(set, 'B');
    expect(b.map((e) => [e.direction, e.accountVersion, e.balanceAfter])).toEqual([
      ['credit', 1, 100n],
      ['debit', 2, 60n],
      ['credit', 3, 100n],
    ]);
    expect(verifyChain(b)).toEqual([]);
    expect(set.state('B')?.counters).toEqual(counters({ creditsPosted: 140n, debitsPosted: 40n }));
  });

  it('balanceAfter follows each account’s normal side', () => {
    // A debit-normal cash account (asset) funds a credit-normal wallet: both balances rise.
    const set = new WorkingSet([locked('cash', { normalBalance: 'debit' }), locked('W')]);
    set.open(req({ debitAccountId: 'cash', creditAccountId: 'W', amount: 250n }), 't1', on(T0));
    expect(set.entries.map((e) => [e.accountId, e.direction, e.balanceAfter])).toEqual([
      ['cash', 'debit', 250n],
      ['W', 'credit', 250n],
    ]);
  });

  it('debitsAfter/creditsAfter are the posted counters after each entry, from existing counters on', () => {
    const set = new WorkingSet([
      locked('A', { counters: counters({ debitsPosted: 7n, creditsPosted: 1000n, debitsPending: 50n }) }),
      locked('B', { counters: counters({ debitsPosted: 3n, creditsPosted: 4n, creditsPending: 50n }) }),
    ]);
    set.open(req({ amount: 100n }), 't1', on(T0));
    set.open(req({ pending: true, amount: 9n }), 'p1', on(T0));
    set.release('A', 'B', 50n);
    set.post('A', 'B', 20n, 'p0', on(T1));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'A', amount: 5n }), 't2', on(T2));
    expect(set.entries.map((e) => [e.accountId, e.debitsAfter, e.creditsAfter, e.balanceAfter])).toEqual([
      ['A', 107n, 1000n, 893n],
      ['B', 3n, 104n, 101n],
      ['A', 127n, 1000n, 873n],
      ['B', 3n, 124n, 121n],
      ['B', 8n, 124n, 116n],
      ['A', 127n, 1005n, 878n],
    ]);
  });

  it('balanceAfter may be negative on an allowNegative account', () => {
    const set = new WorkingSet([source('S'), locked('B')]);
    set.open(req({ debitAccountId: 'S', amount: 70n }), 't1', on(T0));
    set.open(req({ debitAccountId: 'S', amount: 30n }), 't2', on(T0));
    expect(entriesOf(set, 'S').map((e) => e.balanceAfter)).toEqual([-70n, -100n]);
  });

  it('carries amounts beyond 2^53 exactly into entries and counters', () => {
    const amount = 2n ** 53n + 1n;
    const set = new WorkingSet([source('S'), locked('B')]);
    set.open(req({ debitAccountId: 'S', amount }), 't1', on(T0));
    expect(set.entries.map((e) => e.amount)).toEqual([amount, amount]);
    expect(set.entries.map((e) => e.balanceAfter)).toEqual([-9007199254740993n, 9007199254740993n]);
  });

  it('the same transfer in a differently-headed set hashes differently', () => {
    const one = new WorkingSet([funded('A', 500n), locked('B')]);
    const two = new WorkingSet([funded('A', 500n, { version: 0, lastHash: HEAD_HASH }), locked('B')]);
    one.open(req(), 't1', on(T0));
    two.open(req(), 't1', on(T0));
    expect(one.entries[0]!.hash).not.toBe(two.entries[0]!.hash);
    expect(one.entries[1]!.hash).toBe(two.entries[1]!.hash);
  });
});

describe('WorkingSet.open: pending transfer', () => {
  it('reserves on both sides, writes no entries and leaves the chain heads alone', () => {
    const set = new WorkingSet([funded('A', 500n, { version: 4, lastHash: HEAD_HASH }), locked('B')]);
    set.open(req({ pending: true, amount: 120n }), 'p1', on(T0));
    expect(set.entries).toEqual([]);
    expect(set.state('A')?.counters).toEqual(counters({ creditsPosted: 500n, debitsPending: 120n }));
    expect(set.state('B')?.counters).toEqual(counters({ creditsPending: 120n }));
    expect(set.changes()).toEqual([
      {
        id: 'A',
        fromVersion: 4,
        toVersion: 4,
        lastHash: HEAD_HASH,
        delta: counters({ debitsPending: 120n }),
      },
      {
        id: 'B',
        fromVersion: 0,
        toVersion: 0,
        lastHash: GENESIS_HASH,
        delta: counters({ creditsPending: 120n }),
      },
    ]);
  });

  it('a reservation holds funds against later transfers of the same set', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B')]);
    set.open(req({ pending: true, amount: 80n }), 'p1', on(T0));
    expect(availableBalance('credit', set.state('A')!.counters)).toBe(20n);
    expect(refusal(() => set.open(req({ amount: 21n }), 't2', on(T0))).code).toBe('INSUFFICIENT_FUNDS');
    expect(refusal(() => set.open(req({ amount: 21n, pending: true }), 'p2', on(T0))).code).toBe('INSUFFICIENT_FUNDS');
    set.open(req({ amount: 20n }), 't3', on(T0));
    expect(availableBalance('credit', set.state('A')!.counters)).toBe(0n);
  });

  it('pending inflows are not spendable by a later transfer of the same set', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B'), locked('C')]);
    set.open(req({ pending: true, amount: 100n }), 'p1', on(T0));
    const e = refusal(() => set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 1n }), 't2', on(T0)));
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
  });
});

describe('WorkingSet.open: later transfers see earlier ones', () => {
  it('funds an empty account then spends from it in the same set', () => {
    const set = new WorkingSet([source('S'), locked('B'), locked('C')]);
    expect(
      refusal(() => set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 1n }), 'x', on(T0))).code,
    ).toBe('INSUFFICIENT_FUNDS');
    set.open(req({ debitAccountId: 'S', creditAccountId: 'B', amount: 100n }), 'fund', on(T0));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 60n }), 'spend1', on(T1));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 40n }), 'spend2', on(T2));
    expect(
      refusal(() => set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 1n }), 'x', on(T2))).code,
    ).toBe('INSUFFICIENT_FUNDS');

    expect(entriesOf(set, 'B').map((e) => [e.transferId, e.direction, e.accountVersion, e.balanceAfter])).toEqual([
      ['fund', 'credit', 1, 100n],
      ['spend1', 'debit', 2, 40n],
      ['spend2', 'debit', 3, 0n],
    ]);
    expect(entriesOf(set, 'C').map((e) => e.balanceAfter)).toEqual([60n, 100n]);
    expect(verifyChain(entriesOf(set, 'B'))).toEqual([]);
  });

  it('a pending inflow becomes spendable in the same set once it is posted', () => {
    const set = new WorkingSet([source('S'), locked('B'), locked('C')]);
    set.open(req({ debitAccountId: 'S', creditAccountId: 'B', amount: 50n, pending: true }), 'p1', on(T0));
    expect(
      refusal(() => set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 50n }), 'x', on(T0))).code,
    ).toBe('INSUFFICIENT_FUNDS');
    set.release('S', 'B', 50n);
    set.post('S', 'B', 50n, 'p1', on(T1));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'C', amount: 50n }), 't2', on(T1));
    expect(set.state('B')?.counters).toEqual(counters({ creditsPosted: 50n, debitsPosted: 50n }));
  });
});

describe('WorkingSet: refusals', () => {
  it('INSUFFICIENT_FUNDS is a LedgerError carrying the account and amounts', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    const e = refusal(() => set.open(req({ amount: 800n }), 't1', on(T0)));
    expect(e).toBeInstanceOf(InsufficientFunds);
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
    expect(e.message).toBe('account A has 500 available, 800 requested');
    expect((e as InsufficientFunds).accountId).toBe('A');
    expect((e as InsufficientFunds).available).toBe(500n);
    expect((e as InsufficientFunds).requested).toBe(800n);
  });

  it.each([false, true])('a funds refusal (pending=%p) changes nothing and leaves the set usable', (pending) => {
    const set = new WorkingSet([funded('A', 500n), locked('B'), locked('C')]);
    set.open(req({ creditAccountId: 'C', amount: 100n }), 't1', on(T0));
    const before = snapshot(set, ['A', 'B', 'C']);

    expect(refusal(() => set.open(req({ amount: 401n, pending }), 't2', on(T1))).code).toBe('INSUFFICIENT_FUNDS');
    expect(snapshot(set, ['A', 'B', 'C'])).toEqual(before);

    // The set goes on from where it was: the chain of A continues from t1, not from the refused t2.
    set.open(req({ amount: 400n }), 't3', on(T2));
    const a = entriesOf(set, 'A');
    expect(a.map((e) => [e.transferId, e.accountVersion, e.balanceAfter])).toEqual([
      ['t1', 1, 400n],
      ['t3', 2, 0n],
    ]);
    expect(verifyChain(a)).toEqual([]);
    expect(entriesOf(set, 'B')).toEqual([expect.objectContaining({ transferId: 't3', accountVersion: 1 })]);
    expect(set.changes().map((c) => [c.id, c.toVersion])).toEqual([
      ['A', 2],
      ['B', 1],
      ['C', 1],
    ]);
  });

  it('a funds refusal on the credit side (debit-normal account credited) changes nothing', () => {
    // Crediting a debit-normal account lowers it, so the credit side can be the one refused.
    const set = new WorkingSet([source('S'), locked('cash', { normalBalance: 'debit' })]);
    const before = snapshot(set, ['S', 'cash']);
    const e = refusal(() => set.open(req({ debitAccountId: 'S', creditAccountId: 'cash', amount: 1n }), 't1', on(T0)));
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
    expect((e as InsufficientFunds).accountId).toBe('cash');
    expect(snapshot(set, ['S', 'cash'])).toEqual(before);
  });

  it('an unknown debit account → ACCOUNT_NOT_FOUND, nothing written', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    const e = refusal(() => set.open(req({ debitAccountId: 'ghost' }), 't1', on(T0)));
    expect(e).toBeInstanceOf(AccountNotFound);
    expect(e.code).toBe('ACCOUNT_NOT_FOUND');
    expect(e.message).toBe('account ghost does not exist');
    expect((e as AccountNotFound).accountId).toBe('ghost');
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });

  it.each([false, true])('an unknown credit account → ACCOUNT_NOT_FOUND, nothing written (pending=%p)', (pending) => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    const e = refusal(() => set.open(req({ creditAccountId: 'ghost', pending }), 't1', on(T0)));
    expect(e.code).toBe('ACCOUNT_NOT_FOUND');
    expect(e.message).toBe('account ghost does not exist');
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
    set.open(req({ pending }), 't2', on(T0));
    expect(set.changes().map((c) => c.id)).toEqual(['A', 'B']);
  });

  it('post() and release() with an unknown debit account → ACCOUNT_NOT_FOUND, nothing written', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    expect(refusal(() => set.post('ghost', 'B', 1n, 't1', on(T0))).code).toBe('ACCOUNT_NOT_FOUND');
    expect(refusal(() => set.release('ghost', 'B', 1n)).code).toBe('ACCOUNT_NOT_FOUND');
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });

  it('post() and release() with an unknown credit account → ACCOUNT_NOT_FOUND', () => {
    const set = new WorkingSet([funded('A', 500n, { version: 0, lastHash: GENESIS_HASH }), locked('B')]);
    expect(refusal(() => set.post('A', 'ghost', 1n, 't1', on(T0))).message).toBe('account ghost does not exist');
    const other = new WorkingSet([
      locked('A', { counters: counters({ creditsPosted: 5n, debitsPending: 5n }) }),
      locked('B'),
    ]);
    expect(refusal(() => other.release('A', 'ghost', 5n)).code).toBe('ACCOUNT_NOT_FOUND');
  });

  it.each<[string, Partial<TransferRequest>, LockedAccount[], string]>([
    ['SAME_ACCOUNT', { creditAccountId: 'A' }, [funded('A', 500n)], 'debit and credit account must differ'],
    [
      'CURRENCY_MISMATCH',
      { currency: 'EUR' },
      [funded('A', 500n), locked('B')],
      'account A is in USD, transfer is in EUR',
    ],
    ['ACCOUNT_NOT_ACTIVE', {}, [funded('A', 500n), locked('B', { status: 'frozen' })], 'account B is frozen'],
    [
      'BALANCE_OVERFLOW',
      { amount: 1n },
      [funded('A', 500n), locked('B', { counters: counters({ creditsPosted: INT64_MAX }) })],
      'movement would overflow a balance counter of account B',
    ],
  ])('passes on %s from the transfer checks, writing nothing', (code, r, accts, message) => {
    const set = new WorkingSet(accts);
    const e = refusal(() => set.open(req(r), 't1', on(T0)));
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });
});

describe('WorkingSet.release', () => {
  it('gives back a reservation made earlier in the set: nothing left to write', () => {
    const a = funded('A', 500n, { version: 2, lastHash: HEAD_HASH });
    const set = new WorkingSet([a, locked('B')]);
    set.open(req({ pending: true, amount: 300n }), 'p1', on(T0));
    set.release('A', 'B', 300n);
    expect(set.state('A')?.counters).toEqual(a.state.counters);
    expect(set.state('B')?.counters).toEqual(ZERO_COUNTERS);
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });

  it('gives back a reservation made by an earlier unit of work', () => {
    const set = new WorkingSet([
      locked(
        'A',
        { counters: counters({ creditsPosted: 500n, debitsPending: 300n }) },
        { version: 5, lastHash: HEAD_HASH },
      ),
      locked('B', { counters: counters({ creditsPending: 300n }) }),
    ]);
    set.release('A', 'B', 300n);
    expect(set.entries).toEqual([]);
    expect(availableBalance('credit', set.state('A')!.counters)).toBe(500n);
    expect(set.changes()).toEqual([
      { id: 'A', fromVersion: 5, toVersion: 5, lastHash: HEAD_HASH, delta: counters({ debitsPending: -300n }) },
      { id: 'B', fromVersion: 0, toVersion: 0, lastHash: GENESIS_HASH, delta: counters({ creditsPending: -300n }) },
    ]);
  });

  it('releases several reservations in one set (an expiry sweep)', () => {
    const set = new WorkingSet([
      locked('A', { counters: counters({ creditsPosted: 500n, debitsPending: 300n }) }),
      locked('B', { counters: counters({ creditsPending: 200n }) }),
      locked('C', { counters: counters({ creditsPending: 100n }) }),
    ]);
    set.release('A', 'B', 200n);
    set.release('A', 'C', 100n);
    expect(set.state('A')?.counters).toEqual(counters({ creditsPosted: 500n }));
    expect(set.changes().map((c) => [c.id, c.delta])).toEqual([
      ['A', counters({ debitsPending: -300n })],
      ['B', counters({ creditsPending: -200n })],
      ['C', counters({ creditsPending: -100n })],
    ]);
  });

  it('frees funds for later transfers of the same set', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B')]);
    set.open(req({ pending: true, amount: 100n }), 'p1', on(T0));
    expect(refusal(() => set.open(req({ amount: 1n }), 't1', on(T0))).code).toBe('INSUFFICIENT_FUNDS');
    set.release('A', 'B', 100n);
    set.open(req({ amount: 100n }), 't2', on(T0));
    expect(entriesOf(set, 'A')).toEqual([expect.objectContaining({ transferId: 't2', balanceAfter: 0n })]);
  });

  it('works on frozen and closed accounts (void and expiry must still go through)', () => {
    const set = new WorkingSet([
      locked('A', { status: 'frozen', counters: counters({ creditsPosted: 10n, debitsPending: 10n }) }),
      locked('B', { status: 'closed', counters: counters({ creditsPending: 10n }) }),
    ]);
    set.release('A', 'B', 10n);
    expect(set.state('A')?.counters.debitsPending).toBe(0n);
    expect(set.state('B')?.counters.creditsPending).toBe(0n);
  });

  it('releasing more than is reserved is a bug (plain Error, not a LedgerError), nothing released', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req({ pending: true, amount: 10n }), 'p1', on(T0));
    let caught: unknown;
    try {
      set.release('A', 'B', 11n);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(LedgerError);
    expect(set.state('A')?.counters.debitsPending).toBe(10n);
    expect(set.state('B')?.counters.creditsPending).toBe(10n);
  });
});

describe('WorkingSet.settle (two-phase posting)', () => {
  it.each([
    ['debit', 'frozen'],
    ['credit', 'frozen'],
    ['credit', 'closed'],
  ] as const)('refuses to settle when the %s account is %s (ACCOUNT_NOT_ACTIVE), changing nothing', (side, status) => {
    const reserved = {
      debit: counters({ creditsPosted: 100n, debitsPending: 100n }),
      credit: counters({ creditsPending: 100n }),
    };
    const set = new WorkingSet([
      locked('A', { counters: reserved.debit, status: side === 'debit' ? status : 'active' }),
      locked('B', { counters: reserved.credit, status: side === 'credit' ? status : 'active' }),
    ]);
    const id = side === 'debit' ? 'A' : 'B';
    const error = refusal(() => set.settle('A', 'B', 100n, 100n, 'p1', on(T0)));
    expect([error.code, error.message]).toEqual(['ACCOUNT_NOT_ACTIVE', `account ${id} is ${status}`]);
    expect(set.state('A')?.counters).toEqual(reserved.debit);
    expect(set.state('B')?.counters).toEqual(reserved.credit);
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);
  });

  it('posts a pending transfer opened in the same set', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req({ pending: true, amount: 200n }), 'p1', on(T0));
    set.settle('A', 'B', 200n, 200n, 'p1', on(T1));
    expect(set.state('A')?.counters).toEqual(counters({ creditsPosted: 500n, debitsPosted: 200n }));
    expect(set.state('B')?.counters).toEqual(counters({ creditsPosted: 200n }));
    expect(set.entries.map((e) => [e.accountId, e.direction, e.transferId, e.accountVersion, e.createdAt])).toEqual([
      ['A', 'debit', 'p1', 1, T1],
      ['B', 'credit', 'p1', 1, T1],
    ]);
    expect(set.changes().map((c) => [c.id, c.delta])).toEqual([
      ['A', counters({ debitsPosted: 200n })],
      ['B', counters({ creditsPosted: 200n })],
    ]);
  });

  it('posts a reservation from an earlier unit of work that holds all available funds', () => {
    const set = new WorkingSet([
      locked(
        'A',
        { counters: counters({ creditsPosted: 100n, debitsPending: 100n }) },
        { version: 1, lastHash: HEAD_HASH },
      ),
      locked('B', { counters: counters({ creditsPending: 100n }) }),
    ]);
    // Without the release first, the held funds count against the posting.
    expect(refusal(() => set.post('A', 'B', 100n, 'p1', on(T0))).code).toBe('INSUFFICIENT_FUNDS');
    expect(set.entries).toEqual([]);

    set.settle('A', 'B', 100n, 100n, 'p1', on(T0));
    const [d, c] = set.entries;
    expect(d).toMatchObject({ accountVersion: 2, prevHash: HEAD_HASH, balanceAfter: 0n });
    expect(c).toMatchObject({ accountVersion: 1, prevHash: GENESIS_HASH, balanceAfter: 100n });
    expect(set.changes()).toEqual([
      {
        id: 'A',
        fromVersion: 1,
        toVersion: 2,
        lastHash: d!.hash,
        delta: counters({ debitsPosted: 100n, debitsPending: -100n }),
      },
      {
        id: 'B',
        fromVersion: 0,
        toVersion: 1,
        lastHash: c!.hash,
        delta: counters({ creditsPosted: 100n, creditsPending: -100n }),
      },
    ]);
  });

  it('a partial post releases the whole hold and gives the rest back', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B')]);
    set.open(req({ pending: true, amount: 100n }), 'p1', on(T0));
    set.settle('A', 'B', 100n, 60n, 'p1', on(T1));
    expect(availableBalance('credit', set.state('A')!.counters)).toBe(40n);
    expect(set.state('B')?.counters).toEqual(counters({ creditsPosted: 60n }));
    expect(set.entries.map((e) => e.amount)).toEqual([60n, 60n]);
  });

  it('settle() chains after entries already written in the set', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req({ amount: 10n }), 't1', on(T0));
    set.open(req({ pending: true, amount: 20n }), 'p1', on(T0));
    set.open(req({ amount: 30n }), 't2', on(T1));
    set.settle('A', 'B', 20n, 20n, 'p1', on(T2));
    for (const id of ['A', 'B']) {
      const chain = entriesOf(set, id);
      expect(chain.map((e) => e.transferId)).toEqual(['t1', 't2', 'p1']);
      expect(verifyChain(chain)).toEqual([]);
    }
    expect(entriesOf(set, 'A').map((e) => e.balanceAfter)).toEqual([490n, 460n, 440n]);
  });

  it('a second unit of work built from the first one’s result continues its chain', () => {
    const first = new WorkingSet([funded('A', 500n), locked('B')]);
    first.open(req({ amount: 50n }), 't1', on(T0));
    first.open(req({ pending: true, amount: 70n }), 'p1', on(T0));
    // What the engine would read back after flushing `first`.
    const relock = (id: string): LockedAccount => {
      const c = first.changes().find((x) => x.id === id)!;
      return { state: first.state(id)!, head: { version: c.toVersion, lastHash: c.lastHash } };
    };
    const second = new WorkingSet([relock('A'), relock('B')]);
    second.settle('A', 'B', 70n, 70n, 'p1', on(T1));
    for (const id of ['A', 'B']) expect(verifyChain([...entriesOf(first, id), ...entriesOf(second, id)])).toEqual([]);
    expect(second.changes().map((c) => [c.id, c.fromVersion, c.toVersion])).toEqual([
      ['A', 1, 2],
      ['B', 1, 2],
    ]);
  });
});

describe('WorkingSet.changes', () => {
  it('lists only touched accounts, in lock order', () => {
    const set = new WorkingSet([locked('untouched'), funded('A', 500n), locked('B'), locked('C')]);
    set.open(req({ creditAccountId: 'C' }), 't1', on(T0));
    expect(set.changes().map((c) => c.id)).toEqual(['A', 'C']);
  });

  it('nets deltas over several transfers and reports from/to versions and the last hash', () => {
    const set = new WorkingSet([
      funded('A', 1000n, { version: 10, lastHash: HEAD_HASH }),
      locked('B', {}, { version: 3, lastHash: 'cd'.repeat(32) }),
    ]);
    set.open(req({ amount: 100n }), 't1', on(T0));
    set.open(req({ debitAccountId: 'B', creditAccountId: 'A', amount: 30n }), 't2', on(T0));
    set.open(req({ amount: 5n, pending: true }), 'p1', on(T0));
    set.open(req({ amount: 200n }), 't3', on(T1));

    const a = entriesOf(set, 'A');
    const b = entriesOf(set, 'B');
    expect(set.changes()).toEqual([
      {
        id: 'A',
        fromVersion: 10,
        toVersion: 13,
        lastHash: a[a.length - 1]!.hash,
        delta: { debitsPosted: 300n, creditsPosted: 30n, debitsPending: 5n, creditsPending: 0n },
      },
      {
        id: 'B',
        fromVersion: 3,
        toVersion: 6,
        lastHash: b[b.length - 1]!.hash,
        delta: { debitsPosted: 30n, creditsPosted: 300n, debitsPending: 0n, creditsPending: 5n },
      },
    ]);
  });

  it('original counters plus delta give the current counters', () => {
    const start = [
      locked('A', { counters: counters({ creditsPosted: 900n, debitsPosted: 100n, debitsPending: 50n }) }),
      locked('B', { counters: counters({ creditsPending: 50n, creditsPosted: 7n }) }),
    ];
    const set = new WorkingSet(start);
    set.open(req({ amount: 10n }), 't1', on(T0));
    set.release('A', 'B', 50n);
    set.post('A', 'B', 25n, 'p0', on(T0));
    set.open(req({ amount: 40n, pending: true }), 'p1', on(T0));
    for (const c of set.changes()) {
      const orig = start.find((s) => s.state.id === c.id)!.state.counters;
      const key = (k: keyof Counters): bigint => orig[k] + c.delta[k];
      expect({
        debitsPosted: key('debitsPosted'),
        creditsPosted: key('creditsPosted'),
        debitsPending: key('debitsPending'),
        creditsPending: key('creditsPending'),
      }).toEqual(set.state(c.id)?.counters);
    }
  });

  it('can be called repeatedly and keeps reporting against the locked originals', () => {
    const set = new WorkingSet([funded('A', 500n), locked('B')]);
    set.open(req({ amount: 10n }), 't1', on(T0));
    const once = set.changes();
    expect(set.changes()).toEqual(once);
    set.open(req({ amount: 20n }), 't2', on(T0));
    expect(set.changes()[0]).toMatchObject({ fromVersion: 0, toVersion: 2, delta: { debitsPosted: 30n } });
  });

  it('reports the pending delta of an account that only gets reserved, without moving its version', () => {
    const set = new WorkingSet([source('S'), locked('B', {}, { version: 9, lastHash: HEAD_HASH })]);
    set.open(req({ debitAccountId: 'S', pending: true, amount: 5n }), 'p1', on(T0));
    expect(set.changes()[1]).toEqual({
      id: 'B',
      fromVersion: 9,
      toVersion: 9,
      lastHash: HEAD_HASH,
      delta: counters({ creditsPending: 5n }),
    });
  });
});

describe('WorkingSet: properties', () => {
  const IDS = ['A', 'B', 'C', 'D'] as const;

  const lockedArb = (id: string): fc.Arbitrary<LockedAccount> =>
    fc
      .record({
        normalBalance: fc.constantFrom<Side>('debit', 'credit'),
        allowNegative: fc.boolean(),
        opening: fc.bigInt({ min: 0n, max: 1000n }),
        version: fc.nat(20),
        lastHash: fc.constantFrom(GENESIS_HASH, HEAD_HASH, 'cd'.repeat(32)),
      })
      .map(({ normalBalance, allowNegative, opening, version, lastHash }) =>
        locked(
          id,
          {
            normalBalance,
            allowNegative,
            counters:
              normalBalance === 'credit' ? counters({ creditsPosted: opening }) : counters({ debitsPosted: opening }),
          },
          { version, lastHash },
        ),
      );

  // Bounded so no counter can overflow: every refusal is then about funds or the same account.
  const amountArb = fc.bigInt({ min: 1n, max: 500n });

  type Op =
    | { op: 'open'; debit: number; credit: number; amount: bigint; pending: boolean }
    | { op: 'release'; which: number }
    | { op: 'post'; which: number; part: bigint };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('open' as const),
        debit: fc.nat(3),
        credit: fc.nat(3),
        amount: amountArb,
        pending: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), which: fc.nat(50) }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('post' as const), which: fc.nat(50), part: amountArb }),
    },
  );

  const sum = (xs: bigint[]): bigint => xs.reduce((s, x) => s + x, 0n);

  it('balances debits against credits, pairs entries and keeps every chain intact', () => {
    fc.assert(
      fc.property(fc.tuple(...IDS.map(lockedArb)), fc.array(opArb, { maxLength: 40 }), (start, ops) => {
        const set = new WorkingSet(start);
        const pendings: TransferRequest[] = [];
        let seq = 0;

        for (const op of ops) {
          const entriesBefore = set.entries.length;
          const id = `t${seq++}`;
          try {
            if (op.op === 'open') {
              const r = req({
                debitAccountId: IDS[op.debit]!,
                creditAccountId: IDS[op.credit]!,
                amount: op.amount,
                pending: op.pending,
              });
              set.open(r, id, on(T0));
              if (r.pending) pendings.push(r);
            } else if (pendings.length > 0) {
              const [r] = pendings.splice(op.which % pendings.length, 1);
              set.release(r!.debitAccountId, r!.creditAccountId, r!.amount);
              if (op.op === 'post') {
                const posted = ((op.part - 1n) % r!.amount) + 1n;
                set.post(r!.debitAccountId, r!.creditAccountId, posted, id, on(T1));
              }
            }
          } catch (e) {
            if (!(e instanceof LedgerError)) throw e;
            // Posting after a release cannot be refused at these amounts; only new transfers can.
            expect(op.op).toBe('open');
            expect(['SAME_ACCOUNT', 'INSUFFICIENT_FUNDS']).toContain(e.code);
            expect(set.entries).toHaveLength(entriesBefore);
          }

          for (const a of IDS) {
            const s = set.state(a)!;
            for (const v of Object.values(s.counters)) expect(v >= 0n && v <= INT64_MAX).toBe(true);
            if (!s.allowNegative) expect(availableBalance(s.normalBalance, s.counters)).toBeGreaterThanOrEqual(0n);
          }
        }

        // Net deltas: debits equal credits, posted and pending separately.
        const changes = set.changes();
        expect(sum(changes.map((c) => c.delta.debitsPosted))).toBe(sum(changes.map((c) => c.delta.creditsPosted)));
        expect(sum(changes.map((c) => c.delta.debitsPending))).toBe(sum(changes.map((c) => c.delta.creditsPending)));
        // What is still reserved in the set is exactly what was left pending.
        expect(sum(changes.map((c) => c.delta.debitsPending))).toBe(sum(pendings.map((r) => r.amount)));

        // Entries come in (debit, credit) pairs of one transfer and one amount, on two different accounts.
        const entries = set.entries;
        expect(entries.length % 2).toBe(0);
        for (let i = 0; i < entries.length; i += 2) {
          const d = entries[i]!;
          const c = entries[i + 1]!;
          expect(d.direction).toBe('debit');
          expect(c.direction).toBe('credit');
          expect(c.amount).toBe(d.amount);
          expect(c.transferId).toBe(d.transferId);
          expect(c.createdAt).toBe(d.createdAt);
          expect(c.accountId).not.toBe(d.accountId);
        }
        expect(sum(changes.map((c) => c.delta.debitsPosted))).toBe(
          sum(entries.filter((e) => e.direction === 'debit').map((e) => e.amount)),
        );

        // Each account's entries chain from its locked head to what changes() reports.
        for (const s of start) {
          const chain = entriesOf(set, s.state.id);
          let head = s.head;
          let { debitsPosted, creditsPosted } = s.state.counters;
          for (const e of chain) {
            expect(e.accountVersion).toBe(head.version + 1);
            expect(e.prevHash).toBe(head.lastHash);
            expect(e.hash).toBe(entryHash(e.prevHash, e));
            head = { version: e.accountVersion, lastHash: e.hash };
            if (e.direction === 'debit') debitsPosted += e.amount;
            else creditsPosted += e.amount;
            expect([e.debitsAfter, e.creditsAfter]).toEqual([debitsPosted, creditsPosted]);
            expect(e.balanceAfter).toBe(
              postedBalance(s.state.normalBalance, counters({ debitsPosted, creditsPosted })),
            );
          }
          const now = set.state(s.state.id)!.counters;
          expect([now.debitsPosted, now.creditsPosted]).toEqual([debitsPosted, creditsPosted]);
          const change = changes.find((c) => c.id === s.state.id);
          if (change === undefined) {
            expect(chain).toEqual([]);
            expect(set.state(s.state.id)).toEqual(s.state);
          } else {
            expect(change.fromVersion).toBe(s.head.version);
            expect(change.toVersion).toBe(head.version);
            expect(change.lastHash).toBe(head.lastHash);
            const sides = (dir: Side): bigint => sum(chain.filter((e) => e.direction === dir).map((e) => e.amount));
            expect(change.delta.debitsPosted).toBe(sides('debit'));
            expect(change.delta.creditsPosted).toBe(sides('credit'));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkpoint and rollback (one refused request of a group)', () => {
  it('drops what was done since the checkpoint and keeps what came before', () => {
    const set = new WorkingSet([funded('a', 100n), locked('b')]);
    set.open(req({ debitAccountId: 'a', creditAccountId: 'b', amount: 30n }), 't1', on(T0));
    const cp = set.checkpoint();
    set.open(req({ debitAccountId: 'a', creditAccountId: 'b', amount: 50n }), 't2', on(T1));
    expect(() => set.open(req({ debitAccountId: 'a', creditAccountId: 'b', amount: 50n }), 't3', on(T1))).toThrow(
      LedgerError,
    );
    set.rollback(cp);
    expect(set.entries.map((e) => e.transferId)).toEqual(['t1', 't1']);
    expect(set.state('a')!.counters.debitsPosted).toBe(30n);
    // the chain continues from the kept transfer, not the dropped one
    set.open(req({ debitAccountId: 'a', creditAccountId: 'b', amount: 70n }), 't4', on(T2));
    expect(set.entries.filter((e) => e.accountId === 'a').map((e) => e.accountVersion)).toEqual([1, 2]);
    expect(set.state('a')!.counters.debitsPosted).toBe(100n);
    expect(set.changes().find((c) => c.id === 'a')!.delta.debitsPosted).toBe(100n);
  });
});

describe('WorkingSet.take: writing a group in parts', () => {
  it('hands over what was done since the last take, counted from where that one left the accounts', () => {
    const set = new WorkingSet([funded('A', 500n, { version: 4, lastHash: HEAD_HASH }), locked('B'), locked('C')]);
    set.open(req({ amount: 100n }), 't1', on(T0));
    const first = set.take();
    expect(first.entries.map((e) => [e.accountId, e.accountVersion])).toEqual([
      ['A', 5],
      ['B', 1],
    ]);
    expect(first.changes.map((c) => [c.id, c.fromVersion, c.toVersion, c.delta])).toEqual([
      ['A', 4, 5, counters({ debitsPosted: 100n })],
      ['B', 0, 1, counters({ creditsPosted: 100n })],
    ]);
    expect(set.entries).toEqual([]);
    expect(set.changes()).toEqual([]);

    set.open(req({ amount: 30n, creditAccountId: 'C' }), 't2', on(T1));
    const second = set.take();
    // The chain and the version guard go on from the first part: the database applies both in order.
    expect(second.entries.map((e) => [e.accountId, e.accountVersion, e.prevHash])).toEqual([
      ['A', 6, first.entries[0]!.hash],
      ['C', 1, GENESIS_HASH],
    ]);
    expect(second.changes.map((c) => [c.id, c.fromVersion, c.toVersion, c.delta])).toEqual([
      ['A', 5, 6, counters({ debitsPosted: 30n })],
      ['C', 0, 1, counters({ creditsPosted: 30n })],
    ]);
    expect(set.take()).toEqual({ entries: [], changes: [] });
  });

  it('leaves out a refused request rolled back after a take, and keeps the funds the first part spent', () => {
    const set = new WorkingSet([funded('A', 100n), locked('B')]);
    set.open(req({ amount: 80n }), 't1', on(T0));
    set.take();
    const checkpoint = set.checkpoint();
    expect(refusal(() => set.open(req({ amount: 30n }), 't2', on(T1)))).toBeInstanceOf(InsufficientFunds);
    set.rollback(checkpoint);
    set.open(req({ amount: 20n }), 't3', on(T2));
    expect(set.take().changes.map((c) => [c.id, c.fromVersion, c.delta])).toEqual([
      ['A', 1, counters({ debitsPosted: 20n })],
      ['B', 1, counters({ creditsPosted: 20n })],
    ]);
    expect(set.state('A')?.counters).toEqual(counters({ creditsPosted: 100n, debitsPosted: 100n }));
  });
});
