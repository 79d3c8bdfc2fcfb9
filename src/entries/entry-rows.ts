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
  prev_hash: string;
  hash: string;
}

export const ENTRY_COLUMNS =
  'seq, id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version, balance_after, created_at, prev_hash, hash';

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
    // Last, as in the export's columns, so that a reader of the fields before ledgers finds them where they were.
    ledgerId: row.ledger_id,
  };
}

/**
 * The running counters that an account's last entry at or before (`<=`), or strictly before (`<`), an instant
 * carries: its posted counters then, from one probe of (account_id, created_at). `account` and `at` are SQL
 * expressions (a column, a parameter). Balances as of, statements, the trial balance, categories and reports all
 * read history through here.
 */
export const runningCountersAt = (account: string, at: string, op: '<=' | '<'): string =>
  `SELECT debits_after AS debits, credits_after AS credits, account_version AS version FROM ledger_entries
   WHERE account_id = ${account} AND created_at ${op} ${at} ORDER BY created_at DESC, account_version DESC LIMIT 1`;
