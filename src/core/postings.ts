import { type AccountState, availableBalance, type Counters, postedBalance, type Side } from './balances.js';
import {
  AccountNotActive,
  AccountNotFound,
  BalanceOverflow,
  CurrencyMismatch,
  InsufficientFunds,
  LedgerError,
  LedgerMismatch,
  withIndex,
} from './errors.js';
import type { LedgerScope } from './ledger-scope.js';
import { INT64_MAX } from './money.js';

/*
 * The rules of every movement of money, for any number of postings (SPEC 11): a transfer is the case of two, a
 * debit and a credit of one amount. As TigerBeetle's, the checks are a flat run whose order is the order of
 * precedence of the refusals, each kind over every posting before the next kind starts, so that a request wrong
 * in several ways always gets the same code and `index`.
 */

/** One side of a movement on one account. */
export interface Leg {
  accountId: string;
  direction: Side;
  amount: bigint;
}

/** Money strings as bigints; either bound may be absent. */
export interface Bounds {
  gte?: bigint;
  lte?: bigint;
}

/** What an account's balances must be once the whole transaction is applied (SPEC 11 `conditions`). */
export interface BalanceConditions {
  available?: Bounds;
  posted?: Bounds;
}

export interface Posting extends Leg {
  currency: string;
  /** The account's `version` the caller decided on: anything else is a conflict. */
  lockVersion?: number;
  conditions?: BalanceConditions;
}

export interface PostingsRequest {
  postings: readonly Posting[];
  pending: boolean;
  /** The ledger the movement must stay in (a batch's, set by its first transfer); absent: the first account's. */
  ledgerId?: string;
  /** The caller's ledgers: an account outside them is refused exactly as an account that does not exist. */
  scope?: LedgerScope;
  /**
   * Whether a refusal names its posting's `index` (a transaction's do). A transfer's refusals name none: in a
   * batch, the index is the transfer's.
   */
  indexed: boolean;
}

/** An account as the rules see it: its state, and its version when a posting may name one. */
export interface Found {
  state: AccountState;
  version?: number;
}

/**
 * A new movement: each account's counters once every posting is applied (in the order the accounts are first
 * named), or the refusal. Nothing is changed; the caller applies the result.
 */
export function planPostings(
  req: PostingsRequest,
  find: (accountId: string) => Found | undefined,
): Map<string, Counters> {
  const { postings } = req;
  const refuse = (error: LedgerError, i: number): LedgerError => (req.indexed ? withIndex(error, i) : error);
  // The request alone is wrong: refused before any account is judged.
  assertBalanced(postings);
  // Plain loops, one kind of check each: this runs for every transfer of every group, so no closure per posting.
  const found: Found[] = [];
  for (let i = 0; i < postings.length; i++) {
    const a = find(postings[i]!.accountId);
    // Unseen is unknown (SPEC 9): a caller limited to some ledgers cannot tell an account of another from no account.
    if (a === undefined || req.scope?.sees(a.state.ledgerId) === false) {
      throw refuse(new AccountNotFound(postings[i]!.accountId), i);
    }
    found.push(a);
  }
  // Money never crosses ledgers; within a batch, every transfer is in the batch's one ledger.
  const ledgerId = req.ledgerId ?? found[0]!.state.ledgerId;
  for (let i = 0; i < found.length; i++) {
    const { state } = found[i]!;
    if (state.ledgerId !== ledgerId) throw refuse(new LedgerMismatch(state.id, state.ledgerId, ledgerId), i);
  }
  for (let i = 0; i < found.length; i++) {
    const { state } = found[i]!;
    const { currency } = postings[i]!;
    if (state.currency !== currency) throw refuse(new CurrencyMismatch(state.id, state.currency, currency), i);
  }
  for (let i = 0; i < found.length; i++) {
    const { state } = found[i]!;
    if (state.status !== 'active') throw refuse(new AccountNotActive(state.id, state.status), i);
  }
  // A version names the state the caller decided on; funds and conditions would judge a state it has not seen.
  for (let i = 0; i < found.length; i++) {
    const { lockVersion, accountId } = postings[i]!;
    const { version } = found[i]!;
    if (lockVersion !== undefined && lockVersion !== version) {
      const detail = `account ${accountId} is at version ${version}, the posting expects ${lockVersion}`;
      throw refuse(new LedgerError('ACCOUNT_VERSION_CONFLICT', detail), i);
    }
  }
  // An account named in several postings was found once per posting; any of them is its state.
  const state = (id: string): AccountState => found[postings.findIndex((p) => p.accountId === id)]!.state;
  const after = applyLegs(postings, req.pending ? 'reserve' : 'post', state, refuse);
  for (let i = 0; i < postings.length; i++) {
    const { conditions, accountId } = postings[i]!;
    if (conditions === undefined) continue;
    const failed = failedCondition(conditions, state(accountId).normalBalance, after.get(accountId)!);
    if (failed !== undefined) {
      throw refuse(new LedgerError('BALANCE_CONDITION_FAILED', `account ${accountId}: ${failed}`), i);
    }
  }
  return after;
}

/** For each currency, the debit postings sum to the credit postings (SPEC 11); a transfer always balances. */
export function assertBalanced(postings: readonly Posting[]): void {
  // One currency, the common case: one sum.
  const currency = postings[0]?.currency;
  if (postings.every((p) => p.currency === currency)) {
    let d = 0n;
    for (const p of postings) d += p.direction === 'debit' ? p.amount : -p.amount;
    if (d !== 0n) throw unbalanced(currency!, d);
    return;
  }
  const net = new Map<string, bigint>();
  for (const p of postings)
    net.set(p.currency, (net.get(p.currency) ?? 0n) + (p.direction === 'debit' ? p.amount : -p.amount));
  for (const [c, d] of net) if (d !== 0n) throw unbalanced(c, d);
}

function unbalanced(currency: string, d: bigint): LedgerError {
  const side = d > 0n ? 'debits exceed credits' : 'credits exceed debits';
  return new LedgerError('UNBALANCED_TRANSACTION', `${currency}: ${side} by ${d < 0n ? -d : d}`);
}

/**
 * Each account's counters once all the legs are applied as postings or reservations, judged on that final state
 * (SPEC 11: an account debited and credited in one transaction needs only the net in funds): no counter past
 * INT64_MAX, and no available balance an account without `allowNegative` would see drop below zero. A refusal
 * names the account's first leg. Amounts are positive, so no counter is larger between legs than at the end.
 */
export function applyLegs(
  legs: readonly Leg[],
  kind: 'post' | 'reserve',
  state: (accountId: string) => AccountState,
  refuse: (error: LedgerError, i: number) => LedgerError = (e) => e,
): Map<string, Counters> {
  const after = new Map<string, Counters>();
  const first = new Map<string, number>();
  legs.forEach((leg, i) => {
    if (!first.has(leg.accountId)) first.set(leg.accountId, i);
    const counters = { ...(after.get(leg.accountId) ?? state(leg.accountId).counters) };
    counters[counterOf(kind, leg.direction)] += leg.amount;
    after.set(leg.accountId, counters);
  });
  for (const [id, next] of after) {
    const i = first.get(id)!;
    const account = state(id);
    if (
      next.debitsPosted > INT64_MAX ||
      next.creditsPosted > INT64_MAX ||
      next.debitsPending > INT64_MAX ||
      next.creditsPending > INT64_MAX
    ) {
      throw refuse(new BalanceOverflow(id), i);
    }
    const before = availableBalance(account.normalBalance, account.counters);
    const now = availableBalance(account.normalBalance, next);
    // Only a movement that lowers available is judged: money coming into an overdrawn account is always welcome.
    if (!account.allowNegative && now < 0n && now < before)
      throw refuse(new InsufficientFunds(id, before, before - now), i);
  }
  return after;
}

export function counterOf(kind: 'post' | 'reserve', direction: Side): keyof Counters {
  if (kind === 'post') return direction === 'debit' ? 'debitsPosted' : 'creditsPosted';
  return direction === 'debit' ? 'debitsPending' : 'creditsPending';
}

/** The first bound the balances break, described, or undefined when every bound holds. */
export function failedCondition(c: BalanceConditions, normal: Side, counters: Counters): string | undefined {
  const balances = { available: availableBalance(normal, counters), posted: postedBalance(normal, counters) };
  for (const name of ['available', 'posted'] as const) {
    const bounds = c[name];
    const value = balances[name];
    if (bounds?.gte !== undefined && value < bounds.gte) return `${name} would be ${value}, below ${bounds.gte}`;
    if (bounds?.lte !== undefined && value > bounds.lte) return `${name} would be ${value}, above ${bounds.lte}`;
  }
  return undefined;
}
