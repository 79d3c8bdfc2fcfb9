import { hash } from 'node:crypto';
import { applyMovement, postedBalance, type AccountState, type Counters, type Side } from './balances.js';
import { formatMoney } from './money.js';

/** prevHash of an account's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export interface EntryFields {
  accountId: string;
  accountVersion: number;
  transferId: string;
  direction: Side;
  amount: bigint;
  currency: string;
  balanceAfter: bigint;
  /** ISO 8601 UTC with milliseconds, exactly as the API returns it. */
  createdAt: string;
  /**
   * When the entry counts in the books (SPEC 12), in the same form; absent or equal to `createdAt` for an entry
   * dated when it was written.
   */
  effectiveAt?: string;
}

/**
 * Every field is written in its API form so an auditor can recompute the chain from the JSON
 * alone (SPEC section 6); changing any formatting here breaks existing chains. A backdated entry appends its
 * `effectiveAt` (SPEC 12), so every entry written before effective dates existed hashes as it did.
 */
export function entryHash(prevHash: string, f: EntryFields): string {
  const fields = [
    f.accountId,
    String(f.accountVersion),
    f.transferId,
    f.direction,
    formatMoney(f.amount),
    f.currency,
    formatMoney(f.balanceAfter),
    f.createdAt,
  ];
  if (f.effectiveAt !== undefined && f.effectiveAt !== f.createdAt) fields.push(f.effectiveAt);
  const line = fields.join('|');
  return hash('sha256', `${prevHash}\n${line}`, 'hex');
}

export interface ChainHead {
  /** Number of entries the account has; 0 before the first. */
  version: number;
  /** Hash of the latest entry, or GENESIS_HASH. */
  lastHash: string;
}

/**
 * When a movement is recorded and when it counts in the books (SPEC 12), as the API writes them; equal for a
 * movement dated when it is written.
 */
export interface EntryDates {
  createdAt: string;
  effectiveAt: string;
}

/**
 * The dates of a movement recorded at `createdAt` and dated `effectiveAt` (none: when recorded). A date after the
 * moment of recording is that moment: the edge refuses a date in the future, so only a clock stepping back
 * between the two could bring one here, and an entry never counts before it exists.
 */
export function entryDates(createdAt: Date, effectiveAt: Date | null): EntryDates {
  const recorded = createdAt.toISOString();
  if (effectiveAt === null || effectiveAt.getTime() >= createdAt.getTime()) {
    return { createdAt: recorded, effectiveAt: recorded };
  }
  return { createdAt: recorded, effectiveAt: effectiveAt.toISOString() };
}

export interface NextEntry {
  fields: EntryFields;
  prevHash: string;
  hash: string;
  counters: Counters;
}

/**
 * One posted ledger entry on one account; funds and overflow refusals come from applyMovement, unless the caller
 * passes the `counters` after it, having judged the whole movement (a transaction's postings, SPEC 11).
 */
export function nextEntry(
  account: AccountState,
  head: ChainHead,
  transferId: string,
  direction: Side,
  amount: bigint,
  dates: EntryDates,
  counters: Counters = applyMovement(account, { kind: 'post', side: direction, amount }),
): NextEntry {
  const fields: EntryFields = {
    accountId: account.id,
    accountVersion: head.version + 1,
    transferId,
    direction,
    amount,
    currency: account.currency,
    balanceAfter: postedBalance(account.normalBalance, counters),
    createdAt: dates.createdAt,
    ...(dates.effectiveAt !== dates.createdAt && { effectiveAt: dates.effectiveAt }),
  };
  return { fields, prevHash: head.lastHash, hash: entryHash(head.lastHash, fields), counters };
}

export interface ChainProblem {
  code: 'HASH_MISMATCH' | 'VERSION_GAP';
  accountVersion: number;
  detail: string;
}

/**
 * Checks one account's entries, given in accountVersion order. Keeps going after a problem
 * (re-syncing on the entry just seen) so one tampered row does not hide later ones.
 */
export function verifyChain(entries: ReadonlyArray<EntryFields & { prevHash: string; hash: string }>): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let expectedVersion = 1;
  let expectedPrev = GENESIS_HASH;
  for (const e of entries) {
    const v = e.accountVersion;
    if (v !== expectedVersion) {
      problems.push({
        code: 'VERSION_GAP',
        accountVersion: v,
        detail: `expected version ${expectedVersion}, found ${v}`,
      });
    }
    if (e.prevHash !== expectedPrev) {
      problems.push({
        code: 'HASH_MISMATCH',
        accountVersion: v,
        detail: `prevHash does not match the previous entry's hash`,
      });
    }
    const recomputed = entryHash(e.prevHash, e);
    if (recomputed !== e.hash) {
      problems.push({
        code: 'HASH_MISMATCH',
        accountVersion: v,
        detail: `stored hash ${e.hash} differs from recomputed ${recomputed}`,
      });
    }
    expectedVersion = v + 1;
    expectedPrev = e.hash;
  }
  return problems;
}
