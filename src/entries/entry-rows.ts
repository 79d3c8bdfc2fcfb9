import type { Side } from '../core/balances.js';
import type { EntryView } from './entries.dto.js';

export interface EntryRow {
  seq: string;
  id: string;
  ledger_id: string;
  transfer_id: string;
  account_id: string;
  currency: string;
  direction: Side;
  amount: string;
  account_version: string;
  balance_after: string;
  created_at: Date;
  effective_at: Date | null;
  prev_hash: string;
  hash: string;
}

export const ENTRY_COLUMNS =
  'seq, id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version, balance_after, created_at, effective_at, prev_hash, hash';

export function entryView(row: EntryRow): EntryView {
  return {
    id: row.id,
    seq: row.seq,
    transferId: row.transfer_id,
    accountId: row.account_id,
    currency: row.currency,
    direction: row.direction,
    amount: row.amount,
    accountVersion: Number(row.account_version),
    balanceAfter: row.balance_after,
    createdAt: row.created_at.toISOString(),
    prevHash: row.prev_hash,
    hash: row.hash,
    // Last, as in the export's columns, so that a reader of the fields before them finds them where they were.
    ledgerId: row.ledger_id,
    effectiveAt: (row.effective_at ?? row.created_at).toISOString(),
  };
}

/**
 * An account's posted counters as the books stood at `asOf` (by effective date, SPEC 12), counting only what was
 * recorded by `knownAt` (none: everything): `debits`, `credits`, and `version`, the number of entries counted. One
 * row always. `account`, `asOf` and `knownAt` are SQL expressions (a column, a parameter); both instants count.
 *
 * Every entry counts no later than it is recorded (`effective_at < created_at`, or dated then). So everything
 * recorded by min(asOf, knownAt) counts, read from the running counters its last entry carries (one probe of
 * (account_id, created_at)), and only backdated entries recorded after asOf, yet dated by it, remain:
 * - knownAt now: backdated entries dated by asOf minus those recorded by asOf, from `backdated_totals` per whole UTC
 *   day before asOf's (a row per day with any) and entry by entry within its day (the partial indexes);
 * - knownAt given, after asOf: the backdated entries recorded in (asOf, knownAt] and dated by asOf, one by one.
 * Balances as of, statements, the trial balance, categories and reports all read history through here.
 */
/** The last instant before `at` (an SQL expression): instants in the books are whole milliseconds. */
export const justBefore = (at: string): string => `(${at})::timestamptz - interval '1 millisecond'`;

export function countersAt(account: string, asOf: string, knownAt = 'NULL'): string {
  const a = `(${asOf})::timestamptz`;
  const k = `(${knownAt})::timestamptz`;
  const day = `((${a}) AT TIME ZONE 'UTC')::date`;
  const dayStart = `date_trunc('day', ${a}, 'UTC')`;
  const split = (sign: string): string =>
    `${sign} CASE WHEN direction = 'debit' THEN amount ELSE 0 END, ${sign} CASE WHEN direction = 'credit' THEN amount ELSE 0 END, ${sign} 1`;
  return `SELECT coalesce(r.debits, 0) + x.debits AS debits, coalesce(r.credits, 0) + x.credits AS credits,
      coalesce(r.version, 0) + x.entries AS version
    FROM (SELECT debits_after AS debits, credits_after AS credits, account_version AS version FROM ledger_entries
          WHERE account_id = ${account} AND created_at <= LEAST(${a}, ${k})
          ORDER BY created_at DESC, account_version DESC LIMIT 1) r
    RIGHT JOIN (
      SELECT coalesce(sum(d), 0) AS debits, coalesce(sum(c), 0) AS credits, coalesce(sum(n), 0) AS entries FROM (
        SELECT CASE axis WHEN 'effective' THEN debits ELSE -debits END, CASE axis WHEN 'effective' THEN credits ELSE -credits END,
          CASE axis WHEN 'effective' THEN entries ELSE -entries END
        FROM backdated_totals WHERE account_id = ${account} AND day < ${day} AND ${k} IS NULL
        UNION ALL
        SELECT ${split('')} FROM ledger_entries
        WHERE account_id = ${account} AND effective_at IS NOT NULL AND effective_at >= ${dayStart} AND effective_at <= ${a}
          AND ${k} IS NULL
        UNION ALL
        SELECT ${split('-')} FROM ledger_entries
        WHERE account_id = ${account} AND effective_at IS NOT NULL AND created_at >= ${dayStart} AND created_at <= ${a}
          AND ${k} IS NULL
        UNION ALL
        SELECT ${split('')} FROM ledger_entries
        WHERE account_id = ${account} AND effective_at IS NOT NULL AND created_at > ${a} AND created_at <= ${k}
          AND effective_at <= ${a}
      ) AS s(d, c, n)) x ON true`;
}
