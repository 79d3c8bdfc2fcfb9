import {
  ZERO_COUNTERS,
  applyMovement,
  availableBalance,
  balancesView,
  postedBalance,
  type AccountState,
  type Counters,
  type Side,
} from './balances.js';
import { BalanceOverflow, InsufficientFunds, LedgerError } from './errors.js';
import { INT64_MAX } from './money.js';

const TWO_53 = 2n ** 53n;

function counters(p: Partial<Counters> = {}): Counters {
  return { ...ZERO_COUNTERS, ...p };
}

function account(p: Partial<AccountState> = {}): AccountState {
  return {
    ledgerId: 'L',
    id: 'acc',
    currency: 'USD',
    normalBalance: 'credit',
    allowNegative: false,
    status: 'active',
    counters: ZERO_COUNTERS,
    ...p,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LedgerError) return e.code;
    throw e;
  }
  return undefined;
}

describe('ZERO_COUNTERS', () => {
  it('is all zero and cannot be mutated by accident', () => {
    expect(ZERO_COUNTERS).toEqual({
      debitsPosted: 0n,
      creditsPosted: 0n,
      debitsPending: 0n,
      creditsPending: 0n,
    });
    expect(Object.isFrozen(ZERO_COUNTERS)).toBe(true);
  });
});

describe('postedBalance / availableBalance', () => {
  const c = counters({ debitsPosted: 300n, creditsPosted: 1000n, debitsPending: 200n, creditsPending: 50n });

  it('credit-normal: credits − debits, minus pending debits', () => {
    expect(postedBalance('credit', c)).toBe(700n);
    expect(availableBalance('credit', c)).toBe(500n);
  });

  it('debit-normal: debits − credits, minus pending credits', () => {
    expect(postedBalance('debit', c)).toBe(-700n);
    expect(availableBalance('debit', c)).toBe(-750n);
  });

  it('is exact at the extremes', () => {
    const big = counters({ creditsPosted: INT64_MAX, debitsPending: INT64_MAX });
    expect(postedBalance('credit', big)).toBe(INT64_MAX);
    expect(availableBalance('credit', big)).toBe(0n);
    expect(postedBalance('debit', big)).toBe(-INT64_MAX);
    const odd = counters({ creditsPosted: TWO_53 + 1n, debitsPosted: 1n });
    expect(postedBalance('credit', odd)).toBe(TWO_53);
  });
});

describe('balancesView', () => {
  it('renders SPEC section 5 JSON strings for a new account', () => {
    expect(balancesView('credit', ZERO_COUNTERS)).toEqual({
      debitsPosted: '0',
      creditsPosted: '0',
      debitsPending: '0',
      creditsPending: '0',
      posted: '0',
      available: '0',
    });
  });

  it('renders both normal sides, with negatives and beyond-2^53 values exact', () => {
    const c = counters({
      debitsPosted: 500n,
      creditsPosted: 300n,
      debitsPending: TWO_53 + 1n,
      creditsPending: 7n,
    });
    expect(balancesView('credit', c)).toEqual({
      debitsPosted: '500',
      creditsPosted: '300',
      debitsPending: '9007199254740993',
      creditsPending: '7',
      posted: '-200',
      available: '-9007199254741193',
    });
    expect(balancesView('debit', c)).toEqual({
      debitsPosted: '500',
      creditsPosted: '300',
      debitsPending: '9007199254740993',
      creditsPending: '7',
      posted: '200',
      available: '193',
    });
  });
});

describe('applyMovement: counters', () => {
  const base = counters({ debitsPosted: 1n, creditsPosted: 2n, debitsPending: 3n, creditsPending: 4n });
  const acc = account({ allowNegative: true, counters: base });

  it.each<['post' | 'reserve', Side, keyof Counters]>([
    ['post', 'debit', 'debitsPosted'],
    ['post', 'credit', 'creditsPosted'],
    ['reserve', 'debit', 'debitsPending'],
    ['reserve', 'credit', 'creditsPending'],
  ])('%s %s adds to %s only', (kind, side, key) => {
    const next = applyMovement(acc, { kind, side, amount: 10n });
    expect(next).toEqual({ ...base, [key]: base[key] + 10n });
  });

  it.each<[Side, keyof Counters]>([
    ['debit', 'debitsPending'],
    ['credit', 'creditsPending'],
  ])('release %s subtracts from %s only', (side, key) => {
    const next = applyMovement(acc, { kind: 'release', side, amount: 2n });
    expect(next).toEqual({ ...base, [key]: base[key] - 2n });
  });

  it('release down to exactly zero is fine', () => {
    expect(applyMovement(acc, { kind: 'release', side: 'debit', amount: 3n }).debitsPending).toBe(0n);
  });

  it('release below zero is a bug (plain Error, not a LedgerError)', () => {
    let caught: unknown;
    try {
      applyMovement(acc, { kind: 'release', side: 'credit', amount: 5n });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(LedgerError);
  });

  it('does not mutate the account or its counters', () => {
    const snapshot = { ...base };
    const next = applyMovement(acc, { kind: 'post', side: 'debit', amount: 10n });
    expect(acc.counters).toBe(base);
    expect(base).toEqual(snapshot);
    expect(next).not.toBe(base);
  });

  it('works from the frozen ZERO_COUNTERS', () => {
    expect(applyMovement(account(), { kind: 'post', side: 'credit', amount: 1n }).creditsPosted).toBe(1n);
  });

  it.each([0n, -1n])('refuses non-positive amount %p as a bug', (amount) => {
    expect(() => applyMovement(acc, { kind: 'post', side: 'credit', amount })).toThrow(RangeError);
  });

  it('carries 2^53 ± 1 exactly', () => {
    let c = applyMovement(account(), { kind: 'post', side: 'credit', amount: TWO_53 + 1n });
    expect(c.creditsPosted).toBe(9007199254740993n);
    c = applyMovement(account({ counters: c }), { kind: 'post', side: 'debit', amount: TWO_53 - 1n });
    expect(postedBalance('credit', c)).toBe(2n);
  });
});

describe('applyMovement: overflow', () => {
  it.each<['post' | 'reserve', Side, keyof Counters]>([
    ['post', 'credit', 'creditsPosted'],
    ['post', 'debit', 'debitsPosted'],
    ['reserve', 'credit', 'creditsPending'],
    ['reserve', 'debit', 'debitsPending'],
  ])('%s %s past INT64_MAX in %s → BALANCE_OVERFLOW', (kind, side, key) => {
    const acc = account({ id: 'big', allowNegative: true, counters: counters({ [key]: INT64_MAX }) });
    let caught: unknown;
    try {
      applyMovement(acc, { kind, side, amount: 1n });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BalanceOverflow);
    expect((caught as BalanceOverflow).code).toBe('BALANCE_OVERFLOW');
    expect((caught as BalanceOverflow).accountId).toBe('big');
  });

  it('reaching exactly INT64_MAX is allowed', () => {
    const acc = account({ counters: counters({ creditsPosted: INT64_MAX - 1n }) });
    expect(applyMovement(acc, { kind: 'post', side: 'credit', amount: 1n }).creditsPosted).toBe(INT64_MAX);
    expect(applyMovement(account(), { kind: 'post', side: 'credit', amount: INT64_MAX }).creditsPosted).toBe(INT64_MAX);
  });

  it('an amount above INT64_MAX overflows even from zero', () => {
    expect(codeOf(() => applyMovement(account(), { kind: 'post', side: 'credit', amount: INT64_MAX + 1n }))).toBe(
      'BALANCE_OVERFLOW',
    );
  });

  it('overflow is reported before insufficient funds', () => {
    const acc = account({ counters: counters({ debitsPosted: INT64_MAX }) });
    expect(codeOf(() => applyMovement(acc, { kind: 'post', side: 'debit', amount: 1n }))).toBe('BALANCE_OVERFLOW');
  });
});

describe('applyMovement: funds', () => {
  // [normal side, the side that drains it]
  const cases: Array<[Side, Side]> = [
    ['credit', 'debit'],
    ['debit', 'credit'],
  ];
  const fund = (normal: Side, n: bigint): Counters =>
    normal === 'credit' ? counters({ creditsPosted: n }) : counters({ debitsPosted: n });

  describe.each(cases)('%s-normal account', (normal, out) => {
    const inward: Side = normal;

    it.each(['post', 'reserve'] as const)('%s outflow up to exactly available is allowed', (kind) => {
      const acc = account({ normalBalance: normal, counters: fund(normal, 500n) });
      const next = applyMovement(acc, { kind, side: out, amount: 500n });
      expect(availableBalance(normal, next)).toBe(0n);
    });

    it.each(['post', 'reserve'] as const)('%s outflow beyond available → INSUFFICIENT_FUNDS', (kind) => {
      const acc = account({ id: 'alice', normalBalance: normal, counters: fund(normal, 500n) });
      let caught: unknown;
      try {
        applyMovement(acc, { kind, side: out, amount: 800n });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InsufficientFunds);
      const err = caught as InsufficientFunds;
      expect(err.code).toBe('INSUFFICIENT_FUNDS');
      expect(err.message).toBe('account alice has 500 available, 800 requested');
      expect(err.available).toBe(500n);
      expect(err.requested).toBe(800n);
    });

    it('pending outflows reduce what can still be spent', () => {
      const held = normal === 'credit' ? { debitsPending: 300n } : { creditsPending: 300n };
      const acc = account({ normalBalance: normal, counters: { ...fund(normal, 500n), ...held } });
      expect(applyMovement(acc, { kind: 'post', side: out, amount: 200n })).toBeDefined();
      expect(codeOf(() => applyMovement(acc, { kind: 'post', side: out, amount: 201n }))).toBe('INSUFFICIENT_FUNDS');
      expect(codeOf(() => applyMovement(acc, { kind: 'reserve', side: out, amount: 201n }))).toBe('INSUFFICIENT_FUNDS');
    });

    it('pending inflows are not spendable', () => {
      const pendingIn = normal === 'credit' ? { creditsPending: 1000n } : { debitsPending: 1000n };
      const acc = account({ normalBalance: normal, counters: counters(pendingIn) });
      expect(codeOf(() => applyMovement(acc, { kind: 'post', side: out, amount: 1n }))).toBe('INSUFFICIENT_FUNDS');
    });

    it('allowNegative lets available go below zero', () => {
      const acc = account({ normalBalance: normal, allowNegative: true });
      const next = applyMovement(acc, { kind: 'post', side: out, amount: 800n });
      expect(postedBalance(normal, next)).toBe(-800n);
      const next2 = applyMovement({ ...acc, counters: next }, { kind: 'reserve', side: out, amount: INT64_MAX });
      expect(availableBalance(normal, next2)).toBe(-800n - INT64_MAX);
    });

    it.each(['post', 'reserve'] as const)('an already-negative account may still receive (%s)', (kind) => {
      const negative = normal === 'credit' ? counters({ debitsPosted: 1000n }) : counters({ creditsPosted: 1000n });
      const acc = account({ normalBalance: normal, allowNegative: false, counters: negative });
      const next = applyMovement(acc, { kind, side: inward, amount: 1n });
      expect(availableBalance(normal, next)).toBeLessThan(0n);
    });

    it('an already-negative account still may not go further down', () => {
      const negative = normal === 'credit' ? counters({ debitsPosted: 1000n }) : counters({ creditsPosted: 1000n });
      const acc = account({ id: 'neg', normalBalance: normal, counters: negative });
      let caught: unknown;
      try {
        applyMovement(acc, { kind: 'post', side: out, amount: 1n });
      } catch (e) {
        caught = e;
      }
      expect((caught as InsufficientFunds).message).toBe('account neg has -1000 available, 1 requested');
    });

    it('release never fails the funds check', () => {
      const held =
        normal === 'credit'
          ? counters({ debitsPosted: 1000n, debitsPending: 5n, creditsPending: 5n })
          : counters({ creditsPosted: 1000n, debitsPending: 5n, creditsPending: 5n });
      const acc = account({ normalBalance: normal, counters: held });
      expect(() => applyMovement(acc, { kind: 'release', side: 'debit', amount: 5n })).not.toThrow();
      expect(() => applyMovement(acc, { kind: 'release', side: 'credit', amount: 5n })).not.toThrow();
    });

    it('release then post of a reservation succeeds with nothing else available', () => {
      const acc = account({ normalBalance: normal, counters: fund(normal, 100n) });
      const reserved = applyMovement(acc, { kind: 'reserve', side: out, amount: 100n });
      const released = applyMovement({ ...acc, counters: reserved }, { kind: 'release', side: out, amount: 100n });
      const posted = applyMovement({ ...acc, counters: released }, { kind: 'post', side: out, amount: 100n });
      expect(postedBalance(normal, posted)).toBe(0n);
      expect(availableBalance(normal, posted)).toBe(0n);
    });
  });

  it('status is not checked by applyMovement (a frozen account can still release a hold)', () => {
    const acc = account({ status: 'frozen', counters: counters({ creditsPosted: 10n, debitsPending: 10n }) });
    expect(applyMovement(acc, { kind: 'release', side: 'debit', amount: 10n }).debitsPending).toBe(0n);
  });
});
