import { type AccountState, type Counters, postedBalance } from './balances.js';
import { AccountNotActive, LedgerError, SameAccount } from './errors.js';
import type { LedgerScope } from './ledger-scope.js';
import { type Leg, planPostings, type Posting } from './postings.js';

/*
 * The rules of transfers (their postings' are postings.ts) and of closing an account, side by side. Each is a
 * flat run of checks whose order is the order of precedence of the refusals a caller sees: a request wrong in
 * several ways always gets the same code.
 */

export interface TransferRequest {
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
  pending: boolean;
  /** The ledger the movement must stay in (a batch's, set by its first transfer); absent: the debit account's. */
  ledgerId?: string;
  /** The caller's ledgers: an account outside them is refused exactly as an account that does not exist. */
  scope?: LedgerScope;
}

export interface TransferPlan {
  debit: Counters;
  credit: Counters;
}

export type TransferStatus = 'pending' | 'posted' | 'voided' | 'expired';

/** What the rules need of an existing transfer. */
export interface TransferState {
  id: string;
  status: TransferStatus;
  amount: bigint;
  postedAmount: bigint;
  reversedAmount: bigint;
  expiresAt: Date | null;
}

/**
 * A new transfer: the counters both accounts would have after it, or the refusal. It is the two-posting case of
 * `planPostings`, refused first when both sides are one account (a transaction may name an account twice).
 */
export function planTransfer(
  req: TransferRequest,
  debit: AccountState | undefined,
  credit: AccountState | undefined,
): TransferPlan {
  if (req.debitAccountId === req.creditAccountId) throw new SameAccount();
  const postings: Posting[] = [
    { accountId: req.debitAccountId, direction: 'debit', amount: req.amount, currency: req.currency },
    { accountId: req.creditAccountId, direction: 'credit', amount: req.amount, currency: req.currency },
  ];
  const after = planPostings(
    { postings, pending: req.pending, ledgerId: req.ledgerId, scope: req.scope, indexed: false },
    (id) => {
      const state = id === req.debitAccountId ? debit : credit;
      return state && { state };
    },
  );
  return { debit: after.get(req.debitAccountId)!, credit: after.get(req.creditAccountId)! };
}

/** A transfer's two legs: its debit, then its credit. */
export function legsOf(t: Pick<TransferRequest, 'debitAccountId' | 'creditAccountId' | 'amount'>): Leg[] {
  return [
    { accountId: t.debitAccountId, direction: 'debit', amount: t.amount },
    { accountId: t.creditAccountId, direction: 'credit', amount: t.amount },
  ];
}

/** Money moves only between active accounts: a frozen or closed one takes part in no new movement (SPEC 5). */
export function assertActive(accounts: AccountState[]): void {
  for (const a of accounts) {
    if (a.status !== 'active') throw new AccountNotActive(a.id, a.status);
  }
}

/**
 * A movement dated before its ledger's `closedUntil` is refused (SPEC 12): once a period is closed its figures are
 * final. Judged after every other rule, on the date the entries will carry (ISO strings in one form compare as
 * instants).
 */
export function assertPeriodOpen(accounts: Iterable<AccountState>, effectiveAt: string): void {
  for (const a of accounts) {
    if (a.closedUntil != null && effectiveAt < a.closedUntil) {
      throw new LedgerError(
        'PERIOD_CLOSED',
        `the books of the ledger are closed until ${a.closedUntil}: nothing may be dated ${effectiveAt}`,
      );
    }
  }
}

/** A pending transfer past its `expiresAt` is expired from that instant, whether or not the sweeper has released it. */
export function isExpired(t: Pick<TransferState, 'status' | 'expiresAt'>, now: Date): boolean {
  return t.status === 'pending' && t.expiresAt !== null && t.expiresAt.getTime() <= now.getTime();
}

/**
 * Post or void: only a pending transfer can be settled, and not once it has expired (expiry wins over "not
 * pending", so that a caller racing the sweeper gets the same answer before and after it ran).
 */
export function assertSettleable(t: Pick<TransferState, 'id' | 'status' | 'expiresAt'>, now: Date): void {
  if (t.status === 'expired' || isExpired(t, now)) {
    throw new LedgerError('TRANSFER_EXPIRED', `transfer ${t.id} expired at ${t.expiresAt?.toISOString()}`);
  }
  if (t.status !== 'pending') throw new LedgerError('TRANSFER_NOT_PENDING', `transfer ${t.id} is ${t.status}`);
}

/** Post: the amount posted (default: the whole reservation), never more than was reserved; the rest is released. */
export function amountToPost(t: TransferState, requested: bigint | undefined, now: Date): bigint {
  assertSettleable(t, now);
  const amount = requested ?? t.amount;
  if (amount > t.amount) {
    throw new LedgerError('AMOUNT_EXCEEDS_PENDING', `transfer ${t.id} reserved ${t.amount}, ${amount} requested`);
  }
  return amount;
}

/** Reverse: the amount reversed (default: all that is left), so that the total reversed never passes the posted amount. */
export function amountToReverse(t: TransferState, requested: bigint | undefined): bigint {
  const left = t.postedAmount - t.reversedAmount;
  const amount = requested ?? left;
  if (left === 0n || amount > left) {
    throw new LedgerError(
      'REVERSAL_EXCEEDS_AMOUNT',
      `transfer ${t.id} has ${left} left to reverse, ${amount} requested`,
    );
  }
  return amount;
}

/**
 * Any change to an account: a closed account is final, and closing needs a posted balance of zero and nothing
 * pending, so that no money and no reservation is left in an account that can never move again.
 */
export function assertAccountChange(account: AccountState, status: AccountState['status'] | undefined): void {
  if (account.status === 'closed') throw new LedgerError('ACCOUNT_CLOSED', `account ${account.id} is closed`);
  if (status !== 'closed') return;
  const c = account.counters;
  if (postedBalance(account.normalBalance, c) !== 0n || c.debitsPending !== 0n || c.creditsPending !== 0n) {
    throw new LedgerError(
      'ACCOUNT_BALANCE_NOT_ZERO',
      `account ${account.id} must have zero posted and pending balances`,
    );
  }
}
