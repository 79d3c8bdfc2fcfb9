import { BalanceOverflow, InsufficientFunds } from './errors.js';
import { INT64_MAX, formatMoney } from './money.js';

export type Side = 'debit' | 'credit';
export type AccountStatus = 'active' | 'frozen' | 'closed';

/** The four stored counters; each stays within [0, INT64_MAX]. Balances are derived from them. */
export interface Counters {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export const ZERO_COUNTERS: Counters = Object.freeze({
  debitsPosted: 0n,
  creditsPosted: 0n,
  debitsPending: 0n,
  creditsPending: 0n,
});

export interface AccountState {
  id: string;
  /** The book it belongs to: money never moves between ledgers (SPEC 9). */
  ledgerId: string;
  currency: string;
  normalBalance: Side;
  allowNegative: boolean;
  status: AccountStatus;
  counters: Counters;
  /** Its ledger's books are closed up to this instant (SPEC 12), in the API's form; absent: none closed. */
  closedUntil?: string | null;
}

export function postedBalance(normal: Side, c: Counters): bigint {
  return normal === 'credit' ? c.creditsPosted - c.debitsPosted : c.debitsPosted - c.creditsPosted;
}

/** Only pending outflows count against available; pending inflows are not yet spendable. */
export function availableBalance(normal: Side, c: Counters): bigint {
  return postedBalance(normal, c) - (normal === 'credit' ? c.debitsPending : c.creditsPending);
}

export interface BalancesView {
  debitsPosted: string;
  creditsPosted: string;
  debitsPending: string;
  creditsPending: string;
  posted: string;
  available: string;
}

export function balancesView(normal: Side, c: Counters): BalancesView {
  return {
    debitsPosted: formatMoney(c.debitsPosted),
    creditsPosted: formatMoney(c.creditsPosted),
    debitsPending: formatMoney(c.debitsPending),
    creditsPending: formatMoney(c.creditsPending),
    posted: formatMoney(postedBalance(normal, c)),
    available: formatMoney(availableBalance(normal, c)),
  };
}

/**
 * post: final movement; reserve: hold for a pending transfer; release: drop a hold
 * (void, expiry, or the first half of posting a pending transfer: release then post).
 */
export type Movement = { kind: 'post' | 'reserve' | 'release'; side: Side; amount: bigint };

function counterKey(m: Movement): keyof Counters {
  if (m.kind === 'post') return m.side === 'debit' ? 'debitsPosted' : 'creditsPosted';
  return m.side === 'debit' ? 'debitsPending' : 'creditsPending';
}

/**
 * Returns the account's counters after the movement, or throws the ledger's refusal.
 * Status and currency are deliberately not checked here: releasing a hold must still work
 * on a frozen account (void/expiry), so new movements are checked by planTransfer, and the
 * posting of a pending transfer by WorkingSet.settle.
 */
export function applyMovement(account: AccountState, m: Movement): Counters {
  if (m.amount <= 0n) {
    // The API layer only lets positive amounts through; anything else is a caller bug.
    throw new RangeError(`movement amount must be positive, got ${m.amount}`);
  }
  const before = account.counters;
  const key = counterKey(m);
  const next: Counters = { ...before };

  if (m.kind === 'release') {
    next[key] = before[key] - m.amount;
    if (next[key] < 0n) {
      throw new Error(`release of ${m.amount} exceeds ${key} ${before[key]} on account ${account.id}`);
    }
    // Releasing a hold never lowers available, so no funds check.
    return next;
  }

  next[key] = before[key] + m.amount;
  if (next[key] > INT64_MAX) throw new BalanceOverflow(account.id);

  // The opposite side of the normal balance is the one that drains available.
  const reducesAvailable = m.side !== account.normalBalance;
  if (!account.allowNegative && reducesAvailable) {
    const after = availableBalance(account.normalBalance, next);
    if (after < 0n) {
      throw new InsufficientFunds(account.id, availableBalance(account.normalBalance, before), m.amount);
    }
  }
  return next;
}
