import { randomUUID } from 'node:crypto';
import { LedgerError } from '../core/errors.js';
import { entryDates } from '../core/hash-chain.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { assertSettleable } from '../core/transfer-rules.js';
import { inScope } from '../ledgers/ledger-rows.js';
import { insertTransactions, ownDate, writeLedger } from '../transfers/ledger-writes.js';
import { lockWorkingSet, movementEvent } from '../transfers/transfer-writes.js';
import type { UseCase } from '../writes/group.js';
import type { Tx } from '../writes/serializable.js';
import { SYSTEM_ACTOR, type WriteRequest } from '../writes/write-request.js';
import {
  postingOf,
  type StoredPosting,
  TRANSACTION_COLUMNS,
  type TransactionRecord,
  type TransactionRow,
  transactionView,
} from './transaction-rows.js';
import type { TransactionWriteView } from './transactions.dto.js';

/*
 * The use cases on an existing transaction, each run alone by the write entrance: lock the transaction row, then
 * its accounts in id order, judge and apply with the core's working set, write (`writeLedger`). New transactions
 * are decided in bulk with new transfers (`newTransfers`), in one working set.
 */

/** Posts a pending transaction whole: every reservation released and every posting entered, in posting order. */
export function postTransaction(id: string, { scope, actor }: WriteRequest): UseCase<TransactionWriteView> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const t = await lockTransaction(tx, id, scope);
    assertSettleable({ id, status: t.status, expiresAt: t.expires_at }, now);
    const set = await lockWorkingSet(tx, t.account_ids);
    const legs = t.postings.map(postingOf);
    // Dated as it was when made, however much later it is posted.
    set.settleLegs(legs, legs, id, entryDates(now, t.effective_at));
    const [row] = await tx.query<TransactionRow>(
      `UPDATE transactions SET status = 'posted', posted_at = $2, posted_by = $3 WHERE id = $1
       RETURNING ${TRANSACTION_COLUMNS}`,
      [id, now, actor],
    );
    const accounts = set.accountsAfter(t.account_ids);
    writeLedger(tx, { set });
    const view = transactionView(row!, now);
    emit(movementEvent('transaction.posted', view));
    return { ...view, accounts };
  };
}

/** Releases every reservation of a pending transaction. */
export function voidTransaction(id: string, { scope, actor }: WriteRequest): UseCase<TransactionWriteView> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const t = await lockTransaction(tx, id, scope);
    assertSettleable({ id, status: t.status, expiresAt: t.expires_at }, now);
    const set = await lockWorkingSet(tx, t.account_ids);
    set.releaseLegs(t.postings.map(postingOf));
    const [row] = await tx.query<TransactionRow>(
      `UPDATE transactions SET status = 'voided', voided_by = $2 WHERE id = $1 RETURNING ${TRANSACTION_COLUMNS}`,
      [id, actor],
    );
    const accounts = set.accountsAfter(t.account_ids);
    writeLedger(tx, { set });
    const view = transactionView(row!, now);
    emit(movementEvent('transaction.voided', view));
    return { ...view, accounts };
  };
}

/**
 * A new posted transaction with every direction flipped (SPEC 11), once: funds are judged again, the original's
 * versions and conditions are not (they held for the original's moment).
 */
export function reverseTransaction(
  id: string,
  { description, effectiveAt }: { description?: string; effectiveAt?: string },
  { scope, actor }: WriteRequest,
): UseCase<TransactionWriteView> {
  return async (tx, _log, emit) => {
    const t = await lockTransaction(tx, id, scope);
    if (t.reversed_by !== null) {
      throw new LedgerError('ALREADY_REVERSED', `transaction ${id} was reversed by ${t.reversed_by}`);
    }
    // As for a transfer, only what was posted can be reversed.
    if (t.status !== 'posted') {
      throw new LedgerError('REVERSAL_EXCEEDS_AMOUNT', `transaction ${id} is ${t.status}: nothing posted to reverse`);
    }
    const set = await lockWorkingSet(tx, t.account_ids);
    const postings: StoredPosting[] = t.postings.map((p) => ({
      accountId: p.accountId,
      direction: p.direction === 'debit' ? 'credit' : 'debit',
      amount: p.amount,
      currency: p.currency,
    }));
    const now = new Date();
    const dated = effectiveAt === undefined ? null : new Date(effectiveAt);
    const reversal: TransactionRecord = {
      id: randomUUID(),
      ledger_id: t.ledger_id,
      status: 'posted',
      postings,
      account_ids: t.account_ids,
      description: description ?? null,
      external_id: null,
      metadata: {},
      reversal_of: id,
      reversed_by: null,
      expires_at: null,
      created_at: now,
      effective_at: ownDate(now, dated),
      posted_at: now,
      created_by: actor,
      posted_by: null,
      voided_by: null,
    };
    set.openPostings(
      { postings: postings.map(postingOf), pending: false, scope, indexed: true },
      reversal.id,
      entryDates(now, dated),
    );
    insertTransactions(tx, [reversal]);
    tx.write(`UPDATE transactions SET reversed_by = $2 WHERE id = $1`, [id, reversal.id]);
    const accounts = set.accountsAfter(t.account_ids);
    writeLedger(tx, { set });
    const view = transactionView(reversal, now);
    emit(movementEvent('transaction.created', view));
    emit(movementEvent('transaction.reversed', transactionView({ ...t, reversed_by: reversal.id }, now)));
    return { ...view, accounts };
  };
}

/** A ledger's ($3) due pending transactions, oldest expiry first, along `transactions_pending_expiry_idx`. */
export const EXPIRE_DUE_TRANSACTIONS_SQL = `SELECT ${TRANSACTION_COLUMNS} FROM transactions
  WHERE ledger_id = $3 AND status = 'pending' AND expires_at <= $1
  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`;

/** Expires a ledger's due pending transactions and releases their reservations; resolves to how many. */
export function expireDueTransactions(ledgerId: string, limit: number): UseCase<number> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const due = await tx.query<TransactionRow>(EXPIRE_DUE_TRANSACTIONS_SQL, [now, limit, ledgerId]);
    if (due.length === 0) return 0;
    const set = await lockWorkingSet(
      tx,
      due.flatMap((t) => t.account_ids),
    );
    for (const t of due) set.releaseLegs(t.postings.map(postingOf));
    const expired = await tx.query<TransactionRow>(
      `UPDATE transactions SET status = 'expired', voided_by = $2 WHERE id = ANY($1::uuid[])
       RETURNING ${TRANSACTION_COLUMNS}`,
      [due.map((t) => t.id), SYSTEM_ACTOR],
    );
    writeLedger(tx, { set });
    for (const t of expired) emit(movementEvent('transaction.expired', transactionView(t, now)));
    return due.length;
  };
}

/** A transaction outside the caller's ledgers is not read at all, so it is refused as one that does not exist. */
async function lockTransaction(tx: Tx, id: string, scope: LedgerScope): Promise<TransactionRow> {
  const [t] = await tx.query<TransactionRow>(
    `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND ${inScope('ledger_id', 2)} FOR UPDATE`,
    [id, scope.ids],
  );
  if (t === undefined) throw new LedgerError('NOT_FOUND', `transaction ${id} does not exist`);
  return t;
}
