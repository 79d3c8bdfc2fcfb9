import { randomUUID } from 'node:crypto';
import type { WorkingSet } from '../core/working-set.js';
import type { Tx } from '../database/serializable.js';
import { type NewOutcome, outcomesInsert } from '../idempotency/idempotency-store.js';
import type { TransferRow } from './transfer-rows.js';

export interface NewTransfer {
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  externalId: string | null;
  metadata: Record<string, string>;
  pending: boolean;
  timeoutSeconds: number | null;
}

export interface TransferInsert extends NewTransfer {
  id: string;
  status: 'pending' | 'posted';
  batchId: string | null;
  reversalOf: string | null;
  createdAt: Date;
}

/** The row a new transfer will have, known before it is written (the API never shows `seq`). */
export function rowOf(t: TransferInsert): Omit<TransferRow, 'seq'> {
  const posted = t.status === 'posted';
  return {
    id: t.id,
    debit_account_id: t.debitAccountId,
    credit_account_id: t.creditAccountId,
    amount: t.amount.toString(),
    currency: t.currency,
    status: t.status,
    posted_amount: posted ? t.amount.toString() : '0',
    reversed_amount: '0',
    description: t.description,
    external_id: t.externalId,
    metadata: t.metadata,
    batch_id: t.batchId,
    reversal_of: t.reversalOf,
    expires_at:
      t.pending && t.timeoutSeconds !== null ? new Date(t.createdAt.getTime() + t.timeoutSeconds * 1000) : null,
    created_at: t.createdAt,
    posted_at: posted ? t.createdAt : null,
  };
}

/**
 * Writes what a unit of work (or a whole group) did, in ONE statement of data-modifying CTEs: the new
 * transfers, their ledger entries, the idempotency outcomes, and the account counters (by delta, each
 * update guarded by the version read under the lock). Foreign keys are checked at the end of the statement,
 * when all of it is there. The statement is pipelined (`Tx.write`): nothing waits for it, and if it fails the
 * transaction does not commit.
 */
export function writeLedger(
  tx: Tx,
  w: { transfers?: TransferInsert[]; set: WorkingSet; outcomes?: NewOutcome[] },
): void {
  const t = (w.transfers ?? []).map((x) => ({ ...x, row: rowOf(x) }));
  const e = w.set.entries;
  const changes = w.set.changes();
  const outcomes = w.outcomes ?? [];
  if (t.length === 0 && e.length === 0 && changes.length === 0 && outcomes.length === 0) return;
  const keys = outcomesInsert(outcomes, 37);
  tx.write(
    `WITH new_transfers AS (
       INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
         description, external_id, metadata, batch_id, reversal_of, expires_at, created_at, posted_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::bigint[],
         $8::text[], $9::text[], $10::jsonb[], $11::uuid[], $12::uuid[], $13::timestamptz[], $14::timestamptz[],
         $15::timestamptz[])
     ), new_entries AS (
       INSERT INTO ledger_entries (id, transfer_id, account_id, currency, direction, amount, account_version,
         balance_after, created_at, prev_hash, hash, debits_after, credits_after)
       SELECT * FROM unnest($16::uuid[], $17::uuid[], $18::uuid[], $19::text[], $20::text[], $21::bigint[],
         $22::bigint[], $23::bigint[], $24::timestamptz[], $25::text[], $26::text[], $27::bigint[], $28::bigint[])
     ), new_keys AS (
       ${keys.sql}
     )
     -- The rows are locked, so a version other than the one read can only be a bug: it sets the version
     -- backwards, which accounts_guard refuses, failing the statement and with it the transaction.
     UPDATE accounts a SET debits_posted = a.debits_posted + v.dp, credits_posted = a.credits_posted + v.cp,
       debits_pending = a.debits_pending + v.dq, credits_pending = a.credits_pending + v.cq,
       version = CASE WHEN a.version = v.from_version THEN v.to_version ELSE -1 END, last_hash = v.last_hash,
       updated_at = now()
     FROM unnest($29::uuid[], $30::bigint[], $31::bigint[], $32::bigint[], $33::bigint[], $34::bigint[],
       $35::bigint[], $36::text[]) AS v(id, dp, cp, dq, cq, from_version, to_version, last_hash)
     WHERE a.id = v.id`,
    [
      t.map((x) => x.id),
      t.map((x) => x.debitAccountId),
      t.map((x) => x.creditAccountId),
      t.map((x) => x.row.amount),
      t.map((x) => x.currency),
      t.map((x) => x.status),
      t.map((x) => x.row.posted_amount),
      t.map((x) => x.description),
      t.map((x) => x.externalId),
      t.map((x) => JSON.stringify(x.metadata)),
      t.map((x) => x.batchId),
      t.map((x) => x.reversalOf),
      t.map((x) => x.row.expires_at),
      t.map((x) => x.createdAt),
      t.map((x) => x.row.posted_at),
      e.map(() => randomUUID()),
      e.map((x) => x.transferId),
      e.map((x) => x.accountId),
      e.map((x) => x.currency),
      e.map((x) => x.direction),
      e.map((x) => x.amount.toString()),
      e.map((x) => x.accountVersion),
      e.map((x) => x.balanceAfter.toString()),
      e.map((x) => x.createdAt),
      e.map((x) => x.prevHash),
      e.map((x) => x.hash),
      e.map((x) => x.debitsAfter.toString()),
      e.map((x) => x.creditsAfter.toString()),
      changes.map((c) => c.id),
      changes.map((c) => c.delta.debitsPosted.toString()),
      changes.map((c) => c.delta.creditsPosted.toString()),
      changes.map((c) => c.delta.debitsPending.toString()),
      changes.map((c) => c.delta.creditsPending.toString()),
      changes.map((c) => c.fromVersion),
      changes.map((c) => c.toVersion),
      changes.map((c) => c.lastHash),
      ...keys.values,
    ],
    'ledger_write',
  );
}
