import type { Side } from '../core/balances.js';
import type { BalanceConditions, Bounds, Posting } from '../core/postings.js';
import { isExpired } from '../core/transfer-rules.js';
import type { TransferRecord } from '../transfers/transfer-rows.js';
import { type Actor, SYSTEM_ACTOR } from '../writes/write-request.js';
import type { TransactionView } from './transactions.dto.js';

type TransactionStatus = 'pending' | 'posted' | 'voided' | 'expired';

/** Money strings, as the caller sent them. */
export interface StoredBounds {
  gte?: string;
  lte?: string;
}

/** A posting as the caller sent it and as the API shows it back (amounts and bounds as strings). */
export interface StoredPosting {
  accountId: string;
  direction: Side;
  amount: string;
  currency: string;
  lockVersion?: number;
  conditions?: { available?: StoredBounds; posted?: StoredBounds };
}

export interface TransactionRow {
  id: string;
  seq: string;
  ledger_id: string;
  status: TransactionStatus;
  postings: StoredPosting[];
  account_ids: string[];
  description: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  reversal_of: string | null;
  reversed_by: string | null;
  expires_at: Date | null;
  created_at: Date;
  /** Null: dated when created (SPEC 12). */
  effective_at: Date | null;
  posted_at: Date | null;
  created_by: Actor | null;
  posted_by: Actor | null;
  voided_by: Actor | null;
}

/** A transaction as the API shows it: everything but `seq`, so also a row not yet written. */
export type TransactionRecord = Omit<TransactionRow, 'seq'>;

export const TRANSACTION_COLUMNS = `id, seq, ledger_id, status, postings, account_ids, description, external_id, metadata,
  reversal_of, reversed_by, expires_at, created_at, effective_at, posted_at, created_by, posted_by, voided_by`;

/** The core's posting: money as bigint. */
export function postingOf(p: StoredPosting): Posting {
  const bounds = (b: StoredBounds | undefined): Bounds | undefined =>
    b === undefined
      ? undefined
      : {
          ...(b.gte === undefined ? {} : { gte: BigInt(b.gte) }),
          ...(b.lte === undefined ? {} : { lte: BigInt(b.lte) }),
        };
  const conditions: BalanceConditions | undefined =
    p.conditions === undefined
      ? undefined
      : {
          ...(p.conditions.available === undefined ? {} : { available: bounds(p.conditions.available) }),
          ...(p.conditions.posted === undefined ? {} : { posted: bounds(p.conditions.posted) }),
        };
  return {
    accountId: p.accountId,
    direction: p.direction,
    amount: BigInt(p.amount),
    currency: p.currency,
    ...(p.lockVersion === undefined ? {} : { lockVersion: p.lockVersion }),
    ...(conditions === undefined ? {} : { conditions }),
  };
}

/** A pending transaction past its expiry reads as expired even before the sweeper has released it. */
export function transactionView(row: TransactionRecord, now = new Date()): TransactionView {
  const expired = isExpired({ status: row.status, expiresAt: row.expires_at }, now);
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    status: expired ? 'expired' : row.status,
    postings: row.postings,
    description: row.description,
    externalId: row.external_id,
    metadata: row.metadata,
    effectiveAt: (row.effective_at ?? row.created_at).toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    reversalOf: row.reversal_of,
    reversedBy: row.reversed_by,
    createdAt: row.created_at.toISOString(),
    postedAt: row.posted_at?.toISOString() ?? null,
    createdBy: row.created_by,
    postedBy: row.posted_by ?? (row.posted_at === null ? null : row.created_by),
    voidedBy: expired ? SYSTEM_ACTOR : row.voided_by,
  };
}

/**
 * A transfer as a transaction of two postings, its debit then its credit (SPEC 11: one id space). A partly posted
 * transfer shows what was posted; a transfer reverses in parts, so `reversedBy` stays null (its reversals name it
 * in `reversalOf`).
 */
export function transferAsTransaction(t: TransferRecord, now = new Date()): TransactionView {
  const amount = t.status === 'posted' ? t.posted_amount : t.amount;
  const leg = (accountId: string, direction: Side): StoredPosting => ({
    accountId,
    direction,
    amount,
    currency: t.currency,
  });
  return transactionView(
    {
      ...t,
      postings: [leg(t.debit_account_id, 'debit'), leg(t.credit_account_id, 'credit')],
      account_ids: [t.debit_account_id, t.credit_account_id],
      reversed_by: null,
    },
    now,
  );
}
