import fc from 'fast-check';
import {
  ZERO_COUNTERS,
  applyMovement,
  availableBalance,
  type AccountState,
  type Counters,
  type Side,
} from './balances.js';
import { LedgerError } from './errors.js';
import { LedgerScope } from './ledger-scope.js';
import { INT64_MAX } from './money.js';
import {
  amountToPost,
  amountToReverse,
  assertAccountChange,
  assertSettleable,
  isExpired,
  planTransfer,
  type TransferRequest,
  type TransferState,
} from './transfer-rules.js';

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

function req(p: Partial<TransferRequest> = {}): TransferRequest {
  return { debitAccountId: 'A', creditAccountId: 'B', amount: 100n, currency: 'USD', pending: false, ...p };
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

const funded = (id: string, n: bigint, p: Partial<AccountState> = {}): AccountState =>
  account(id, { counters: { ...ZERO_COUNTERS, creditsPosted: n }, ...p });

describe('planTransfer: effects', () => {
  it('posts: debit account debitsPosted, credit account creditsPosted', () => {
    const plan = planTransfer(req(), funded('A', 500n), account('B'));
    expect(plan.debit).toEqual({ ...ZERO_COUNTERS, creditsPosted: 500n, debitsPosted: 100n });
    expect(plan.credit).toEqual({ ...ZERO_COUNTERS, creditsPosted: 100n });
  });

  it('pending: reserves on both sides and posts nothing', () => {
    const plan = planTransfer(req({ pending: true }), funded('A', 500n), account('B'));
    expect(plan.debit).toEqual({ ...ZERO_COUNTERS, creditsPosted: 500n, debitsPending: 100n });
    expect(plan.credit).toEqual({ ...ZERO_COUNTERS, creditsPending: 100n });
    expect(availableBalance('credit', plan.debit)).toBe(400n);
    expect(availableBalance('credit', plan.credit)).toBe(0n);
  });

  it('does not mutate the accounts', () => {
    const a = funded('A', 500n);
    const b = account('B');
    const aCounters = a.counters;
    planTransfer(req(), a, b);
    expect(a.counters).toBe(aCounters);
    expect(a.counters.debitsPosted).toBe(0n);
    expect(b.counters).toBe(ZERO_COUNTERS);
  });

  it('moves amounts beyond 2^53 exactly', () => {
    const amount = 2n ** 53n + 1n;
    const plan = planTransfer(req({ amount }), account('A', { allowNegative: true }), account('B'));
    expect(plan.debit.debitsPosted).toBe(9007199254740993n);
    expect(plan.credit.creditsPosted).toBe(9007199254740993n);
  });

  it('moves INT64_MAX from an allowNegative account', () => {
    const plan = planTransfer(req({ amount: INT64_MAX }), account('A', { allowNegative: true }), account('B'));
    expect(plan.credit.creditsPosted).toBe(INT64_MAX);
  });

  it('debit-normal accounts: a cash (asset) account funds a wallet', () => {
    // Debiting cash raises it; crediting a debit-normal account lowers it.
    const cash = account('A', { normalBalance: 'debit' });
    const plan = planTransfer(req(), cash, account('B'));
    expect(plan.debit.debitsPosted).toBe(100n);
    expect(
      refusal(() =>
        planTransfer(req({ debitAccountId: 'B', creditAccountId: 'A' }), account('B', { allowNegative: true }), cash),
      ).code,
    ).toBe('INSUFFICIENT_FUNDS');
  });
});

describe('planTransfer: refusals and their order', () => {
  it('SAME_ACCOUNT first, even when the account is missing', () => {
    expect(refusal(() => planTransfer(req({ creditAccountId: 'A' }), undefined, undefined)).code).toBe('SAME_ACCOUNT');
  });

  it('ACCOUNT_NOT_FOUND for the debit account before the credit account', () => {
    const e = refusal(() => planTransfer(req(), undefined, undefined));
    expect(e.code).toBe('ACCOUNT_NOT_FOUND');
    expect(e.message).toBe('account A does not exist');
    expect(refusal(() => planTransfer(req(), funded('A', 500n), undefined)).message).toBe('account B does not exist');
  });

  it("an account outside the caller's ledgers is refused exactly as one that does not exist", () => {
    const scope = LedgerScope.of(['L']);
    const unseen = (id: string): AccountState => funded(id, 500n, { ledgerId: 'M' });
    const missing = refusal(() => planTransfer(req(), undefined, account('B')));
    const hidden = refusal(() => planTransfer(req({ scope }), unseen('A'), account('B')));
    expect([hidden.code, hidden.message]).toEqual([missing.code, missing.message]);
    // Also where an unlimited caller would get LEDGER_MISMATCH: the other ledger is not there to mismatch.
    expect(refusal(() => planTransfer(req(), funded('A', 500n), unseen('B'))).code).toBe('LEDGER_MISMATCH');
    expect(refusal(() => planTransfer(req({ scope }), funded('A', 500n), unseen('B'))).message).toBe(
      'account B does not exist',
    );
    expect(planTransfer(req({ scope }), funded('A', 500n), account('B')).debit.debitsPosted).toBe(100n);
  });

  it('ACCOUNT_NOT_FOUND before CURRENCY_MISMATCH', () => {
    expect(refusal(() => planTransfer(req(), account('A', { currency: 'EUR' }), undefined)).code).toBe(
      'ACCOUNT_NOT_FOUND',
    );
  });

  it('CURRENCY_MISMATCH on either side', () => {
    const e1 = refusal(() => planTransfer(req(), funded('A', 500n, { currency: 'EUR' }), account('B')));
    expect(e1.code).toBe('CURRENCY_MISMATCH');
    expect(e1.message).toBe('account A is in EUR, transfer is in USD');
    const e2 = refusal(() => planTransfer(req(), funded('A', 500n), account('B', { currency: 'EUR' })));
    expect(e2.message).toBe('account B is in EUR, transfer is in USD');
  });

  it('CURRENCY_MISMATCH of the credit account before ACCOUNT_NOT_ACTIVE of the debit account', () => {
    const e = refusal(() =>
      planTransfer(req(), funded('A', 500n, { status: 'frozen' }), account('B', { currency: 'EUR' })),
    );
    expect(e.code).toBe('CURRENCY_MISMATCH');
  });

  it.each(['frozen', 'closed'] as const)('ACCOUNT_NOT_ACTIVE when either side is %s', (status) => {
    expect(refusal(() => planTransfer(req(), funded('A', 500n, { status }), account('B'))).message).toBe(
      `account A is ${status}`,
    );
    expect(refusal(() => planTransfer(req(), funded('A', 500n), account('B', { status }))).message).toBe(
      `account B is ${status}`,
    );
  });

  it('ACCOUNT_NOT_ACTIVE before INSUFFICIENT_FUNDS', () => {
    expect(refusal(() => planTransfer(req(), account('A'), account('B', { status: 'frozen' }))).code).toBe(
      'ACCOUNT_NOT_ACTIVE',
    );
  });

  it.each([false, true])('INSUFFICIENT_FUNDS (pending=%p)', (pending) => {
    const e = refusal(() => planTransfer(req({ amount: 800n, pending }), funded('A', 500n), account('B')));
    expect(e.code).toBe('INSUFFICIENT_FUNDS');
    expect(e.message).toBe('account A has 500 available, 800 requested');
  });

  it('spending exactly the available balance is allowed', () => {
    expect(planTransfer(req({ amount: 500n }), funded('A', 500n), account('B')).debit.debitsPosted).toBe(500n);
  });

  it('an already-negative allowNegative=false account may receive', () => {
    const negative = account('B', { counters: { ...ZERO_COUNTERS, debitsPosted: 1000n } });
    const plan = planTransfer(req(), funded('A', 500n), negative);
    expect(availableBalance('credit', plan.credit)).toBe(-900n);
  });

  it.each([false, true])('BALANCE_OVERFLOW on the credit side (pending=%p)', (pending) => {
    const full = account('B', {
      counters: { ...ZERO_COUNTERS, creditsPosted: INT64_MAX, creditsPending: INT64_MAX },
    });
    const e = refusal(() => planTransfer(req({ amount: 1n, pending }), funded('A', 500n), full));
    expect(e.code).toBe('BALANCE_OVERFLOW');
  });

  it('BALANCE_OVERFLOW on the debit side', () => {
    const full = account('A', {
      allowNegative: true,
      counters: { ...ZERO_COUNTERS, debitsPosted: INT64_MAX },
    });
    expect(refusal(() => planTransfer(req({ amount: 1n }), full, account('B'))).code).toBe('BALANCE_OVERFLOW');
  });
});

describe('planTransfer: properties', () => {
  const IDS = ['A', 'B', 'C', 'D'] as const;

  const accountArb = (id: string): fc.Arbitrary<AccountState> =>
    fc
      .record({ normalBalance: fc.constantFrom<Side>('debit', 'credit'), allowNegative: fc.boolean() })
      .map((p) => account(id, p));

  // Small amounts so most transfers succeed, huge ones to reach overflow and the 2^53 boundary.
  const amountArb = fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: INT64_MAX }) },
  );

  type Op =
    | { op: 'transfer'; debit: number; credit: number; amount: bigint; pending: boolean }
    | { op: 'void' | 'post'; which: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('transfer' as const),
        debit: fc.nat(3),
        credit: fc.nat(3),
        amount: amountArb,
        pending: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constantFrom('void' as const, 'post' as const), which: fc.nat(50) }),
    },
  );

  function sum(accts: Map<string, AccountState>, key: keyof Counters): bigint {
    let s = 0n;
    for (const a of accts.values()) s += a.counters[key];
    return s;
  }

  it('conserves money and never lets an allowNegative=false account go below zero', () => {
    fc.assert(
      fc.property(fc.tuple(...IDS.map(accountArb)), fc.array(opArb, { maxLength: 60 }), (list, ops) => {
        const accts = new Map(list.map((a) => [a.id, a]));
        const pendings: TransferRequest[] = [];

        for (const op of ops) {
          try {
            if (op.op === 'transfer') {
              const r: TransferRequest = {
                debitAccountId: IDS[op.debit]!,
                creditAccountId: IDS[op.credit]!,
                amount: op.amount,
                currency: 'USD',
                pending: op.pending,
              };
              const plan = planTransfer(r, accts.get(r.debitAccountId), accts.get(r.creditAccountId));
              accts.set(r.debitAccountId, { ...accts.get(r.debitAccountId)!, counters: plan.debit });
              accts.set(r.creditAccountId, { ...accts.get(r.creditAccountId)!, counters: plan.credit });
              if (r.pending) pendings.push(r);
            } else if (pendings.length > 0) {
              // Void releases the hold; post releases it and posts the same amount.
              const [r] = pendings.splice(op.which % pendings.length, 1);
              const d = accts.get(r!.debitAccountId)!;
              const c = accts.get(r!.creditAccountId)!;
              const released = planRelease(r!, d, c);
              if (op.op === 'post') {
                const plan = planTransfer(
                  { ...r!, pending: false },
                  { ...d, counters: released.debit },
                  { ...c, counters: released.credit },
                );
                accts.set(d.id, { ...d, counters: plan.debit });
                accts.set(c.id, { ...c, counters: plan.credit });
              } else {
                accts.set(d.id, { ...d, counters: released.debit });
                accts.set(c.id, { ...c, counters: released.credit });
              }
            }
          } catch (e) {
            if (!(e instanceof LedgerError)) throw e;
            expect(['SAME_ACCOUNT', 'INSUFFICIENT_FUNDS', 'BALANCE_OVERFLOW']).toContain(e.code);
          }

          expect(sum(accts, 'debitsPosted')).toBe(sum(accts, 'creditsPosted'));
          expect(sum(accts, 'debitsPending')).toBe(sum(accts, 'creditsPending'));
          for (const a of accts.values()) {
            for (const v of Object.values(a.counters)) {
              expect(v >= 0n && v <= INT64_MAX).toBe(true);
            }
            if (!a.allowNegative) expect(availableBalance(a.normalBalance, a.counters)).toBeGreaterThanOrEqual(0n);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

// Stand-in for the service's void path, built from the public movement rule.
function planRelease(r: TransferRequest, d: AccountState, c: AccountState): { debit: Counters; credit: Counters } {
  return {
    debit: applyMovement(d, { kind: 'release', side: 'debit', amount: r.amount }),
    credit: applyMovement(c, { kind: 'release', side: 'credit', amount: r.amount }),
  };
}

describe('settling a pending transfer (post, void)', () => {
  const now = new Date('2026-12-04T10:00:00.000Z');
  const pending = (p: Partial<TransferState> = {}): TransferState => ({
    id: 'T',
    status: 'pending',
    amount: 500n,
    postedAmount: 0n,
    reversedAmount: 0n,
    expiresAt: null,
    ...p,
  });
  const past = new Date(now.getTime() - 1);

  it('posts the whole reservation by default, or part of it, never more', () => {
    expect(amountToPost(pending(), undefined, now)).toBe(500n);
    expect(amountToPost(pending(), 1n, now)).toBe(1n);
    expect(amountToPost(pending(), 500n, now)).toBe(500n);
    expect(refusal(() => amountToPost(pending(), 501n, now)).code).toBe('AMOUNT_EXCEEDS_PENDING');
  });

  it.each(['posted', 'voided'] as const)('refuses to settle a %s transfer', (status) => {
    expect(refusal(() => assertSettleable(pending({ status }), now)).code).toBe('TRANSFER_NOT_PENDING');
    expect(refusal(() => amountToPost(pending({ status }), 1n, now)).code).toBe('TRANSFER_NOT_PENDING');
  });

  it('calls a reservation expired from its expiresAt on, swept or not, before any other refusal', () => {
    expect(isExpired(pending({ expiresAt: now }), now)).toBe(true);
    expect(isExpired(pending({ expiresAt: new Date(now.getTime() + 1) }), now)).toBe(false);
    expect(isExpired(pending({ expiresAt: null }), now)).toBe(false);
    expect(isExpired(pending({ status: 'posted', expiresAt: past }), now)).toBe(false);
    expect(refusal(() => assertSettleable(pending({ expiresAt: past }), now)).code).toBe('TRANSFER_EXPIRED');
    expect(refusal(() => assertSettleable(pending({ status: 'expired', expiresAt: past }), now)).code).toBe(
      'TRANSFER_EXPIRED',
    );
    // Expiry outranks an amount over the reservation.
    expect(refusal(() => amountToPost(pending({ expiresAt: past }), 10_000n, now)).code).toBe('TRANSFER_EXPIRED');
  });
});

describe('reversing a posted transfer', () => {
  const posted = (postedAmount: bigint, reversedAmount: bigint): TransferState => ({
    id: 'T',
    status: 'posted',
    amount: 1000n,
    postedAmount,
    reversedAmount,
    expiresAt: null,
  });

  it('reverses all that is left by default, or part of it', () => {
    expect(amountToReverse(posted(800n, 0n), undefined)).toBe(800n);
    expect(amountToReverse(posted(800n, 300n), undefined)).toBe(500n);
    expect(amountToReverse(posted(800n, 300n), 500n)).toBe(500n);
  });

  it('never lets the total reversed pass the posted amount', () => {
    expect(refusal(() => amountToReverse(posted(800n, 300n), 501n)).code).toBe('REVERSAL_EXCEEDS_AMOUNT');
    expect(refusal(() => amountToReverse(posted(800n, 800n), undefined)).code).toBe('REVERSAL_EXCEEDS_AMOUNT');
    // A voided or still pending transfer posted nothing, so there is nothing to reverse.
    expect(refusal(() => amountToReverse(posted(0n, 0n), undefined)).code).toBe('REVERSAL_EXCEEDS_AMOUNT');
  });

  it('holds for any amounts: a reversal allowed never takes the reversed total past the posted amount', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, INT64_MAX),
        fc.bigInt(0n, INT64_MAX),
        fc.option(fc.bigInt(1n, INT64_MAX)),
        (a, b, r) => {
          const postedAmount = a > b ? a : b;
          const reversedAmount = a > b ? b : a;
          let amount: bigint;
          try {
            amount = amountToReverse(posted(postedAmount, reversedAmount), r ?? undefined);
          } catch (e) {
            expect((e as LedgerError).code).toBe('REVERSAL_EXCEEDS_AMOUNT');
            return;
          }
          expect(amount).toBeGreaterThan(0n);
          expect(reversedAmount + amount).toBeLessThanOrEqual(postedAmount);
        },
      ),
    );
  });
});

describe('changing an account', () => {
  it('lets an active or frozen account change, and closes one only at zero with nothing pending', () => {
    expect(() => assertAccountChange(account('A'), 'closed')).not.toThrow();
    expect(() => assertAccountChange(account('A', { status: 'frozen' }), 'active')).not.toThrow();
    expect(() => assertAccountChange(funded('A', 10n), 'frozen')).not.toThrow();
    expect(refusal(() => assertAccountChange(funded('A', 10n), 'closed')).code).toBe('ACCOUNT_BALANCE_NOT_ZERO');
    const reserved = account('A', { counters: { ...ZERO_COUNTERS, creditsPending: 5n } });
    expect(refusal(() => assertAccountChange(reserved, 'closed')).code).toBe('ACCOUNT_BALANCE_NOT_ZERO');
    // Posted activity that nets to zero does not stop a close.
    const netZero = account('A', { counters: { ...ZERO_COUNTERS, debitsPosted: 7n, creditsPosted: 7n } });
    expect(() => assertAccountChange(netZero, 'closed')).not.toThrow();
  });

  it('treats closed as final: any change to a closed account is refused first', () => {
    const closed = account('A', { status: 'closed' });
    for (const status of [undefined, 'active', 'frozen', 'closed'] as const) {
      expect(refusal(() => assertAccountChange(closed, status)).code).toBe('ACCOUNT_CLOSED');
    }
  });
});
