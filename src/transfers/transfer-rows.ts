import { isExpired, type TransferState } from '../core/transfer-rules.js';
import { type Actor, SYSTEM_ACTOR } from '../writes/write-request.js';
import type { TransferStatus, TransferView } from './transfers.dto.js';

export interface TransferRow {
  id: string;
  seq: string;
  ledger_id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  currency: string;
  status: TransferStatus;
  posted_amount: string;
  reversed_amount: string;
  description: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  batch_id: string | null;
  reversal_of: string | null;
  expires_at: Date | null;
  created_at: Date;
  /** Null: dated when created (SPEC 12). */
  effective_at: Date | null;
  posted_at: Date | null;
  created_by: Actor | null;
  posted_by: Actor | null;
  voided_by: Actor | null;
}

/** A transfer as the API shows it: everything but `seq`, so also a row not yet written. */
export type TransferRecord = Omit<TransferRow, 'seq'>;

export const TRANSFER_COLUMNS = `id, seq, ledger_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
  reversed_amount, description, external_id, metadata, batch_id, reversal_of, expires_at, created_at, effective_at, posted_at, created_by,
  posted_by, voided_by`;

/** What the transfer rules of the core judge. */
export function transferState(row: TransferRecord): TransferState {
  return {
    id: row.id,
    status: row.status,
    amount: BigInt(row.amount),
    postedAmount: BigInt(row.posted_amount),
    reversedAmount: BigInt(row.reversed_amount),
    expiresAt: row.expires_at,
  };
}

/** A pending transfer past its expiry reads as expired even before the sweeper has released it. */
export function transferView(row: TransferRecord, now = new Date()): TransferView {
  const expired = isExpired({ status: row.status, expiresAt: row.expires_at }, now);
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: row.amount,
    currency: row.currency,
    status: expired ? 'expired' : row.status,
    postedAmount: row.posted_amount,
    reversedAmount: row.reversed_amount,
    description: row.description,
    externalId: row.external_id,
    metadata: row.metadata,
    batchId: row.batch_id,
    reversalOf: row.reversal_of,
    expiresAt: row.expires_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    effectiveAt: (row.effective_at ?? row.created_at).toISOString(),
    postedAt: row.posted_at?.toISOString() ?? null,
    createdBy: row.created_by,
    // Null with a posting time: posted when made, by its maker (a later post records who posted it).
    postedBy: row.posted_by ?? (row.posted_at === null ? null : row.created_by),
    // The sweeper records the system as the one who voided it; until it has run, the answer already says so.
    voidedBy: expired ? SYSTEM_ACTOR : row.voided_by,
  };
}
