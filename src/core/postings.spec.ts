import fc from 'fast-check';
import { type AccountState, availableBalance, type Counters, postedBalance, ZERO_COUNTERS } from './balances.js';
import { LedgerError } from './errors.js';
import { entryDates, GENESIS_HASH, verifyChain } from './hash-chain.js';
import { LedgerScope } from './ledger-scope.js';
import { INT64_MAX } from './money.js';
import {
  assertBalanced,
  failedCondition,
  type Found,
  planPostings,
  type Posting,
  type PostingsRequest,
} from './postings.js';
import { planTransfer } from './transfer-rules.js';
import { WorkingSet } from './working-set.js';

const T0 = '2026-12-04T10:00:00.000Z';
/** A movement recorded at `t` and dated then. */
const on = (t: string) => entryDates(new Date(t), null);

function account(id: string, p: Partial<AccountState> = {}): AccountState {
  return {
    id,
    ledgerId: 'L',
    currency: 'USD',
    normalBalance: 'credit',
    allowNegative: false,
    status: 'active',
    counters: ZERO_COUNTERS,
    ...p,
  };
}

/** A credit-normal account holding n posted. */
const funded = (id: string, n: bigint, p: Partial<AccountState> = {}): AccountState =>
  account(id, { counters: { ...ZERO_COUNTERS, creditsPosted: n }, ...p });

const debit = (accountId: string, amount: bigint, p: Partial<Posting> = {}): Posting => ({
  accountId,
  direction: 'debit',
  amount,
  currency: 'USD',
  ...p,
});
const credit = (accountId: string, amount: bigint, p: Partial<Posting> = {}): Posting => ({
  ...debit(accountId, amount, p),
  direction: 'credit',
});

function request(postings: Posting[], p: Partial<PostingsRequest> = {}): PostingsRequest {
  return { postings, pending: false, indexed: true, ...p };
}

function finder(accounts: AccountState[], versions: Record<string, number> = {}): (id: string) => Found | undefined {
  const byId = new Map(accounts.map((a) => [a.id, { state: a, version: versions[a.id] ?? 0 }]));
  return (id) => byId.get(id);
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

const codeAndIndex = (e: LedgerError): [string, number | undefined] => [e.code, e.index];

describe('assertBalanced', () => {
  it('accepts debits equal to credits in each currency, however many postings', () => {
    expect(() => assertBalanced([debit('A', 70n), credit('B', 50n), credit('C', 20n)])).not.toThrow();
    expect(() =>
      assertBalanced([
        debit('A', 100n),
        credit('FX', 100n),
        debit('FX', 92n, { currency: 'EUR' }),
        credit('B', 92n, { currency: 'EUR' }),
      ]),
    ).not.toThrow();
  });

  it('refuses a currency out of balance even when the totals over all currencies agree', () => {
    const e = refusal(() => assertBalanced([debit('A', 100n), credit('B', 100n, { currency: 'EUR' })]));
    expect(e.code).toBe('UNBALANCED_TRANSACTION');
    expect(e.message).toBe('USD: debits exceed credits by 100');
    expect(e.index).toBeUndefined();
  });

  it('holds for any split of one amount into credits', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 99 }), (parts) => {
        const total = parts.reduce((a, b) => a + b, 0n);
        assertBalanced([debit('A', total), ...parts.map((n, i) => credit(`C${i}`, n))]);
        expect(() => assertBalanced([debit('A', total + 1n), ...parts.map((n, i) => credit(`C${i}`, n))])).toThrow(
          LedgerError,
        );
      }),
    );
  });
});

describe('planPostings: effects', () => {
  it('a fee split: each account ends with its counters, the payer debited once for the whole', () => {
    const after = planPostings(
      request([debit('payer', 1000n), credit('merchant', 970n), credit('fees', 30n)]),
      finder([funded('payer', 1000n), account('merchant'), account('fees')]),
    );
    expect(after.get('payer')).toEqual({ ...ZERO_COUNTERS, creditsPosted: 1000n, debitsPosted: 1000n });
    expect(after.get('merchant')?.creditsPosted).toBe(970n);
    expect(after.get('fees')?.creditsPosted).toBe(30n);
  });

  it('judges funds on the net: an account debited beyond its balance and credited back in one transaction passes', () => {
    const find = finder([funded('A', 60n), account('B'), funded('C', 500n)]);
    // A: -100 then +50 → 10 left; each leg alone would not fit, the whole does.
    const after = planPostings(request([debit('A', 100n), credit('B', 100n), debit('C', 50n), credit('A', 50n)]), find);
    expect(availableBalance('credit', after.get('A')!)).toBe(10n);
    // Short of one on the net: the refusal names A's first posting.
    const e = refusal(() =>
      planPostings(request([debit('C', 39n), debit('A', 100n), credit('B', 100n), credit('A', 39n)]), find),
    );
    expect(codeAndIndex(e)).toEqual(['INSUFFICIENT_FUNDS', 1]);
    expect(e.message).toBe('account A has 60 available, 61 requested');
  });

  it('a pending transaction reserves every posting and posts nothing', () => {
    const after = planPostings(
      request([debit('A', 80n), credit('B', 50n), credit('C', 30n)], { pending: true }),
      finder([funded('A', 100n), account('B'), account('C')]),
    );
    expect(after.get('A')).toEqual({ ...ZERO_COUNTERS, creditsPosted: 100n, debitsPending: 80n });
    expect(after.get('B')).toEqual({ ...ZERO_COUNTERS, creditsPending: 50n });
    expect(after.get('C')).toEqual({ ...ZERO_COUNTERS, creditsPending: 30n });
  });

  it('is the same plan as planTransfer for a transfer', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.bigInt({ min: 1n, max: 1200n }),
        fc.boolean(),
        (held, amount, pending) => {
          const a = funded('A', held);
          const b = account('B');
          const transfer = (): unknown =>
            planTransfer({ debitAccountId: 'A', creditAccountId: 'B', amount, currency: 'USD', pending }, a, b);
          const postings = (): unknown =>
            planPostings(
              request([debit('A', amount), credit('B', amount)], { pending, indexed: false }),
              finder([a, b]),
            );
          if (amount > held) {
            expect(codeAndIndex(refusal(postings))).toEqual(codeAndIndex(refusal(transfer)));
          } else {
            const map = postings() as Map<string, Counters>;
            expect(transfer()).toEqual({ debit: map.get('A'), credit: map.get('B') });
          }
        },
      ),
    );
  });
});

describe('planPostings: refusals, their order and their index', () => {
  const accounts = [funded('A', 100n), account('B'), account('E', { currency: 'EUR' })];

  it('an unbalanced request is refused before any account is looked at', () => {
    const e = refusal(() => planPostings(request([debit('nope', 5n), credit('B', 4n)]), finder(accounts)));
    expect(codeAndIndex(e)).toEqual(['UNBALANCED_TRANSACTION', undefined]);
  });

  it('names the first posting of each kind of refusal, kinds in precedence order', () => {
    const find = finder([...accounts, account('F', { status: 'frozen' }), account('M', { ledgerId: 'M' })]);
    const plan = (...postings: Posting[]): [string, number | undefined] =>
      codeAndIndex(refusal(() => planPostings(request(postings), find)));
    // not found beats every other kind, wherever it is
    expect(plan(debit('F', 5n), credit('M', 5n), debit('A', 5n), credit('nope', 5n))).toEqual(['ACCOUNT_NOT_FOUND', 3]);
    // then another ledger than the first posting's
    expect(plan(debit('F', 5n), credit('B', 5n), debit('A', 5n), credit('M', 5n))).toEqual(['LEDGER_MISMATCH', 3]);
    // then a currency other than the account's
    expect(plan(debit('F', 5n), credit('B', 5n), debit('A', 5n), credit('E', 5n))).toEqual(['CURRENCY_MISMATCH', 3]);
    // then an account that is not active
    expect(plan(debit('A', 5n), credit('B', 5n), debit('B', 5n), credit('F', 5n))).toEqual(['ACCOUNT_NOT_ACTIVE', 3]);
    // then funds, on the account's first posting
    expect(plan(credit('B', 500n), debit('A', 400n), debit('A', 100n))).toEqual(['INSUFFICIENT_FUNDS', 1]);
  });

  it('outside the caller’s ledgers an account is not found', () => {
    const e = refusal(() =>
      planPostings(request([debit('A', 5n), credit('B', 5n)], { scope: LedgerScope.of(['other']) }), finder(accounts)),
    );
    expect(codeAndIndex(e)).toEqual(['ACCOUNT_NOT_FOUND', 0]);
  });

  it('a transfer’s refusals carry no index', () => {
    const e = refusal(() =>
      planPostings(request([debit('A', 500n), credit('B', 500n)], { indexed: false }), finder(accounts)),
    );
    expect(codeAndIndex(e)).toEqual(['INSUFFICIENT_FUNDS', undefined]);
  });

  it('lockVersion: exactly the version the account has, else a conflict before funds are judged', () => {
    const find = finder(accounts, { A: 7, B: 2 });
    expect(() => planPostings(request([debit('A', 5n, { lockVersion: 7 }), credit('B', 5n)]), find)).not.toThrow();
    const e = refusal(() => planPostings(request([debit('A', 500n), credit('B', 500n, { lockVersion: 1 })]), find));
    expect(codeAndIndex(e)).toEqual(['ACCOUNT_VERSION_CONFLICT', 1]);
    expect(e.message).toBe('account B is at version 2, the posting expects 1');
  });

  it('an overflowing counter is refused on the account’s first posting', () => {
    const full = account('Z', { allowNegative: true, counters: { ...ZERO_COUNTERS, creditsPosted: INT64_MAX } });
    const e = refusal(() =>
      planPostings(
        request([debit('A', 1n), credit('B', 1n), debit('Z', 1n), credit('Z', 1n)]),
        finder([...accounts, full]),
      ),
    );
    expect(codeAndIndex(e)).toEqual(['BALANCE_OVERFLOW', 2]);
  });
});

describe('conditions', () => {
  it('judge the balances the whole transaction leaves, and name the posting that carries them', () => {
    const find = finder([funded('wallet', 9_000n), account('source', { allowNegative: true })]);
    const topUp = (n: bigint, lte: bigint): Posting[] => [
      debit('source', n),
      credit('wallet', n, { conditions: { available: { lte } } }),
    ];
    expect(() => planPostings(request(topUp(1_000n, 10_000n)), find)).not.toThrow();
    const e = refusal(() => planPostings(request(topUp(1_001n, 10_000n)), find));
    expect(codeAndIndex(e)).toEqual(['BALANCE_CONDITION_FAILED', 1]);
    expect(e.message).toBe('account wallet: available would be 10001, above 10000');
  });

  it('allow an overdraft down to a bound on an account that may go negative', () => {
    const find = finder([funded('A', 100n, { allowNegative: true }), account('B')]);
    const overdraft = (n: bigint): Posting[] => [
      debit('A', n, { conditions: { available: { gte: -500n } } }),
      credit('B', n),
    ];
    expect(() => planPostings(request(overdraft(600n)), find)).not.toThrow();
    expect(codeAndIndex(refusal(() => planPostings(request(overdraft(601n)), find)))).toEqual([
      'BALANCE_CONDITION_FAILED',
      0,
    ]);
  });

  it('a pending transaction moves available, not posted', () => {
    const c = { ...ZERO_COUNTERS, creditsPosted: 100n, debitsPending: 30n };
    expect(failedCondition({ posted: { gte: 100n, lte: 100n } }, 'credit', c)).toBeUndefined();
    expect(failedCondition({ available: { gte: 71n } }, 'credit', c)).toBe('available would be 70, below 71');
    expect(failedCondition({ posted: { lte: -1n } }, 'credit', c)).toBe('posted would be 100, above -1');
  });

  it('every bound is judged exactly: a random balance and bounds agree with the arithmetic', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -1000n, max: 1000n }),
        fc.bigInt({ min: -1000n, max: 1000n }),
        fc.bigInt({ min: -1000n, max: 1000n }),
        (balance, gte, lte) => {
          const c =
            balance >= 0n ? { ...ZERO_COUNTERS, creditsPosted: balance } : { ...ZERO_COUNTERS, debitsPosted: -balance };
          const failed = failedCondition({ posted: { gte, lte } }, 'credit', c);
          expect(failed === undefined).toBe(postedBalance('credit', c) >= gte && postedBalance('credit', c) <= lte);
        },
      ),
    );
  });
});

describe('WorkingSet.openPostings', () => {
  const locked = (
    s: AccountState,
    version = 0,
  ): { state: AccountState; head: { version: number; lastHash: string } } => ({
    state: s,
    head: { version, lastHash: GENESIS_HASH },
  });

  it('writes one entry per posting in posting order, chaining an account named twice', () => {
    const set = new WorkingSet([locked(funded('A', 1000n)), locked(account('B')), locked(account('C'))]);
    set.openPostings(
      request([debit('A', 600n), credit('B', 500n), credit('C', 100n), debit('A', 1n), credit('B', 1n)]),
      'tx1',
      on(T0),
    );
    expect(set.entries.map((e) => [e.accountId, e.direction, e.amount, e.accountVersion])).toEqual([
      ['A', 'debit', 600n, 1],
      ['B', 'credit', 500n, 1],
      ['C', 'credit', 100n, 1],
      ['A', 'debit', 1n, 2],
      ['B', 'credit', 1n, 2],
    ]);
    expect(set.entries.every((e) => e.transferId === 'tx1')).toBe(true);
    expect(verifyChain(set.entries.filter((e) => e.accountId === 'A'))).toEqual([]);
    expect(set.entries.filter((e) => e.accountId === 'A').map((e) => e.balanceAfter)).toEqual([400n, 399n]);
    expect(set.accountsAfter(['A', 'B', 'C', 'A'])).toEqual([
      expect.objectContaining({ accountId: 'A', version: 2 }),
      expect.objectContaining({ accountId: 'B', version: 2 }),
      expect.objectContaining({ accountId: 'C', version: 1 }),
    ]);
  });

  it('checks lockVersion against the version the set holds now, so a later unit of the group sees the earlier one', () => {
    const set = new WorkingSet([locked(funded('A', 1000n), 4), locked(account('B'))]);
    set.openPostings(request([debit('A', 1n, { lockVersion: 4 }), credit('B', 1n)]), 'tx1', on(T0));
    const e = refusal(() =>
      set.openPostings(request([debit('A', 1n, { lockVersion: 4 }), credit('B', 1n)]), 'tx2', on(T0)),
    );
    expect(codeAndIndex(e)).toEqual(['ACCOUNT_VERSION_CONFLICT', 0]);
    set.openPostings(request([debit('A', 1n, { lockVersion: 5 }), credit('B', 1n)]), 'tx3', on(T0));
  });

  it('a refused transaction changes nothing; a pending one reserves and its settlement enters every posting', () => {
    const set = new WorkingSet([locked(funded('A', 100n)), locked(account('B')), locked(account('C'))]);
    refusal(() => set.openPostings(request([debit('A', 101n), credit('B', 100n), credit('C', 1n)]), 'no', on(T0)));
    expect(set.changes()).toEqual([]);
    expect(set.entries).toEqual([]);
    const postings = [debit('A', 100n), credit('B', 70n), credit('C', 30n)];
    set.openPostings(request(postings, { pending: true }), 'p1', on(T0));
    expect(set.entries).toEqual([]);
    expect(set.state('A')?.counters.debitsPending).toBe(100n);
    set.settleLegs(postings, postings, 'p1', on(T0));
    expect(set.entries.map((e) => [e.accountId, e.amount])).toEqual([
      ['A', 100n],
      ['B', 70n],
      ['C', 30n],
    ]);
    expect(set.state('A')?.counters).toEqual({ ...ZERO_COUNTERS, creditsPosted: 100n, debitsPosted: 100n });
    expect(set.state('B')?.counters).toEqual({ ...ZERO_COUNTERS, creditsPosted: 70n });
  });

  it('conserves money per currency and never leaves a strict account below zero, for random transactions', () => {
    const ids = ['A', 'B', 'C', 'D'];
    const leg = fc.record({
      accountId: fc.constantFrom(...ids),
      direction: fc.constantFrom('debit' as const, 'credit' as const),
      amount: fc.bigInt({ min: 1n, max: 300n }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(leg, { minLength: 1, maxLength: 6 }), { maxLength: 20 }), (txs) => {
        const set = new WorkingSet(ids.map((id, i) => locked(funded(id, 200n, { allowNegative: i === 0 }))));
        txs.forEach((legs, n) => {
          // Balanced by a last posting on the source account A for whatever the others leave over.
          const net = legs.reduce((s, l) => s + (l.direction === 'debit' ? l.amount : -l.amount), 0n);
          const postings: Posting[] = legs.map((l) => ({ ...l, currency: 'USD' }));
          if (net !== 0n) postings.push(net > 0n ? credit('A', net) : debit('A', -net));
          try {
            set.openPostings(request(postings), `t${n}`, on(T0));
          } catch (e) {
            if (!(e instanceof LedgerError) || e.code !== 'INSUFFICIENT_FUNDS') throw e;
          }
        });
        const states = ids.map((id) => set.state(id)!);
        const sum = (k: keyof Counters): bigint => states.reduce((s, a) => s + a.counters[k], 0n);
        expect(sum('debitsPosted') - sum('creditsPosted')).toBe(-800n);
        for (const a of states.slice(1)) expect(availableBalance('credit', a.counters) >= 0n).toBe(true);
      }),
    );
  });
});
