import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type LockedAccountRow, lockAccounts, stateOf } from '../accounts/account-rows.js';
import { LedgerError, withIndex } from '../core/errors.js';
import { WorkingSet } from '../core/working-set.js';
import type { BulkHandler, BulkResult } from '../database/group-commit.js';
import type { Tx } from '../database/serializable.js';
import { problemBody } from '../http/problem.filter.js';
import { findOutcomes, keyOf, type NewOutcome, type Outcome, replay } from '../idempotency/idempotency-store.js';
import { type NewTransfer, rowOf, type TransferInsert, writeLedger } from './ledger-writes.js';
import type { WriteRequest } from '../idempotency/write-request.js';
import { TRANSFER_COLUMNS, type TransferRecord, type TransferRow, isExpired } from './transfer-rows.js';

/** One creating request: a single transfer (batchId null) or an atomic batch, rendered into its response. */
export interface CreateRequest {
  items: NewTransfer[];
  batchId: string | null;
  write: WriteRequest;
  render: (rows: TransferRecord[]) => unknown;
}

/**
 * A group's decided requests are written once they hold this many new transfers, so that PostgreSQL writes a
 * batch request's transfers while the next requests are being checked. Each statement also costs the server a
 * fixed share besides its rows, which outweighs that overlap for single transfers: groups of ~62 written every
 * 25 transfers (three statements) cost PostgreSQL 168 µs of CPU per transfer, written in one 151 µs, for the same
 * throughput (BENCHMARKS.md). At 100, a batch request of 100 is still written on its own.
 */
const WRITE_EVERY = 100;

/**
 * The units of work that move money. Each runs inside `Serializable.run` (via the idempotent write path):
 * lock what it touches (a transfer row first, then its accounts in id order), check and apply the movement
 * in memory with the pure core, then write each table in one statement.
 */
@Injectable()
export class TransferEngine {
  /**
   * New transfers from many requests at once (a bulk handler of the group commit). Each request — one
   * transfer, or an atomic batch whose later transfers see the earlier ones — is checked in memory against
   * the accounts as the requests before it left them; a refused request is rolled back in memory alone.
   * One statement per table writes the decided requests (transfers, entries, account counters, idempotency
   * keys), every `WRITE_EVERY` transfers and at the end.
   */
  readonly createGroup: BulkHandler<CreateRequest> = async (tx, requests) => {
    // Three reads in one round trip (the transaction's statements are pipelined).
    const [stored, taken, set] = await Promise.all([
      findOutcomes(
        tx,
        requests.flatMap((r) => (r.write.key === undefined ? [] : [{ userId: r.write.userId, key: r.write.key }])),
      ),
      takenExternalIds(
        tx,
        requests.flatMap((r) => r.items.map((t) => t.externalId)),
      ),
      this.lock(
        tx,
        requests.flatMap((r) => r.items.flatMap((t) => [t.debitAccountId, t.creditAccountId])),
      ),
    ]);
    const createdAt = new Date();
    const results: BulkResult[] = [];
    const firstWithKey = new Map<string, number>();
    let rows: TransferRecord[] = [];
    let outcomes: NewOutcome[] = [];
    const write = (): void => {
      writeLedger(tx, { transfers: rows, set, outcomes });
      rows = [];
      outcomes = [];
    };
    /** The answer to a fresh request, stored under its key (if it has one) with the transfers it created. */
    const answer = (w: WriteRequest, outcome: Outcome): void => {
      if (w.key !== undefined) {
        outcomes.push({
          userId: w.userId,
          key: w.key,
          requestHash: w.requestHash,
          status: outcome.status,
          body: outcome.body,
        });
      }
      results.push({ value: outcome });
    };
    requests.forEach((request, index) => {
      const w = request.write;
      const key = w.key === undefined ? undefined : keyOf(w.userId, w.key);
      const earlier = key === undefined ? undefined : stored.get(key);
      const sibling = key === undefined ? undefined : firstWithKey.get(key);
      if (earlier !== undefined || sibling !== undefined) {
        const hash = earlier?.requestHash ?? requests[sibling!]!.write.requestHash;
        results.push(
          hash !== w.requestHash
            ? {
                refusal: new LedgerError(
                  'IDEMPOTENCY_KEY_REUSED',
                  'this Idempotency-Key was used for a different request',
                ),
              }
            : {
                value: earlier !== undefined ? replay(earlier, hash) : { ...fresh(results[sibling!]!), replayed: true },
              },
        );
        return;
      }
      if (key !== undefined) firstWithKey.set(key, index);
      const checkpoint = set.checkpoint();
      const mine: TransferInsert[] = [];
      try {
        request.items.forEach((item, i) =>
          atIndex(request.batchId, i, () => {
            if (
              item.externalId !== null &&
              (taken.has(item.externalId) || mine.some((m) => m.externalId === item.externalId))
            ) {
              throw duplicateExternalId(item.externalId);
            }
            const id = randomUUID();
            set.open(item, id, createdAt.toISOString());
            const status = item.pending ? 'pending' : 'posted';
            mine.push({ ...item, id, status, batchId: request.batchId, reversalOf: null, createdAt });
          }),
        );
      } catch (error) {
        if (!(error instanceof LedgerError)) throw error;
        set.rollback(checkpoint);
        if (w.key === undefined) {
          results.push({ refusal: error });
        } else {
          const body = problemBody(error, w.requestId);
          answer(w, { status: body.status, body, replayed: false });
        }
        return;
      }
      for (const t of mine) if (t.externalId !== null) taken.add(t.externalId);
      const created = mine.map(rowOf);
      rows.push(...created);
      answer(w, { status: 201, body: request.render(created), replayed: false });
      if (rows.length >= WRITE_EVERY) write();
    });
    write();
    return results;
  };

  /** Posts all or part of a pending transfer (its accounts still active): the reservation released, the amount entered. */
  post(id: string, amount: bigint | undefined): (tx: Tx) => Promise<TransferRecord> {
    return async (tx) => {
      const t = await lockPending(tx, id);
      const posted = amount ?? BigInt(t.amount);
      if (posted > BigInt(t.amount)) {
        throw new LedgerError('AMOUNT_EXCEEDS_PENDING', `transfer ${id} reserved ${t.amount}, ${posted} requested`);
      }
      const set = await this.lock(tx, [t.debit_account_id, t.credit_account_id]);
      const now = new Date();
      set.settle(t.debit_account_id, t.credit_account_id, BigInt(t.amount), posted, id, now.toISOString());
      const [row] = await tx.query<TransferRow>(
        `UPDATE transfers SET status = 'posted', posted_amount = $2, posted_at = $3 WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
        [id, posted.toString(), now],
      );
      writeLedger(tx, { set });
      return row!;
    };
  }

  /** Releases a pending transfer's reservation. */
  void(id: string): (tx: Tx) => Promise<TransferRecord> {
    return async (tx) => {
      const t = await lockPending(tx, id);
      const set = await this.lock(tx, [t.debit_account_id, t.credit_account_id]);
      set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
      const [row] = await tx.query<TransferRow>(
        `UPDATE transfers SET status = 'voided' WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
        [id],
      );
      writeLedger(tx, { set });
      return row!;
    };
  }

  /** A new posted transfer in the opposite direction; the original's reversed amount never passes its posted amount. */
  reverse(
    id: string,
    amount: bigint | undefined,
    description: string | undefined,
  ): (tx: Tx) => Promise<TransferRecord> {
    return async (tx) => {
      const [t] = await tx.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (t === undefined) throw new LedgerError('NOT_FOUND', `transfer ${id} does not exist`);
      const left = BigInt(t.posted_amount) - BigInt(t.reversed_amount);
      const reversed = amount ?? left;
      if (left === 0n || reversed > left) {
        throw new LedgerError(
          'REVERSAL_EXCEEDS_AMOUNT',
          `transfer ${id} has ${left} left to reverse, ${reversed} requested`,
        );
      }
      const set = await this.lock(tx, [t.debit_account_id, t.credit_account_id]);
      const reversal: TransferInsert = {
        id: randomUUID(),
        debitAccountId: t.credit_account_id,
        creditAccountId: t.debit_account_id,
        amount: reversed,
        currency: t.currency,
        description: description ?? null,
        externalId: null,
        metadata: {},
        pending: false,
        timeoutSeconds: null,
        status: 'posted',
        batchId: null,
        reversalOf: id,
        createdAt: new Date(),
      };
      set.open(reversal, reversal.id, reversal.createdAt.toISOString());
      await tx.query(`UPDATE transfers SET reversed_amount = reversed_amount + $2 WHERE id = $1`, [
        id,
        reversed.toString(),
      ]);
      const row = rowOf(reversal);
      writeLedger(tx, { transfers: [row], set });
      return row;
    };
  }

  /**
   * Expires due pending transfers and releases their reservations. SKIP LOCKED lets several instances
   * sweep at once, each taking different rows, and never waits on a transfer that is being posted.
   */
  expireDue(limit: number): (tx: Tx) => Promise<number> {
    return async (tx) => {
      const due = await tx.query<TransferRow>(
        `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE status = 'pending' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [new Date(), limit],
      );
      if (due.length === 0) return 0;
      const set = await this.lock(
        tx,
        due.flatMap((t) => [t.debit_account_id, t.credit_account_id]),
      );
      for (const t of due) set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
      await tx.query(`UPDATE transfers SET status = 'expired' WHERE id = ANY($1::uuid[])`, [due.map((t) => t.id)]);
      writeLedger(tx, { set });
      return due.length;
    };
  }

  private async lock(tx: Tx, accountIds: string[]): Promise<WorkingSet> {
    const rows = await lockAccounts(tx, accountIds);
    return new WorkingSet(
      [...rows.values()].map((row: LockedAccountRow) => ({
        state: stateOf(row),
        head: { version: Number(row.version), lastHash: row.last_hash },
      })),
    );
  }
}

async function lockPending(tx: Tx, id: string): Promise<TransferRecord> {
  const [t] = await tx.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1 FOR UPDATE`, [id]);
  if (t === undefined) throw new LedgerError('NOT_FOUND', `transfer ${id} does not exist`);
  // Past expiresAt is TRANSFER_EXPIRED whether or not the sweeper has already marked the row expired.
  if (t.status === 'expired' || isExpired(t, Date.now()))
    throw new LedgerError('TRANSFER_EXPIRED', `transfer ${id} expired at ${t.expires_at?.toISOString()}`);
  if (t.status !== 'pending') throw new LedgerError('TRANSFER_NOT_PENDING', `transfer ${id} is ${t.status}`);
  return t;
}

async function takenExternalIds(tx: Tx, wanted: (string | null)[]): Promise<Set<string>> {
  const ids = wanted.filter((id): id is string => id !== null);
  if (ids.length === 0) return new Set();
  const rows = await tx.query<{ external_id: string }>(
    'SELECT external_id FROM transfers WHERE external_id = ANY($1::text[])',
    [ids],
  );
  return new Set(rows.map((r) => r.external_id));
}

/** The outcome of a fresh request with a key: always an answer, stored (created, or a stored refusal). */
function fresh(result: BulkResult): Outcome {
  if (!('value' in result)) throw new Error('a request with a key always has a stored outcome');
  return result.value as Outcome;
}

function duplicateExternalId(externalId: string): LedgerError {
  return new LedgerError('DUPLICATE_EXTERNAL_ID', `externalId ${externalId} is already used by another transfer`);
}

/** Runs `f` for the transfer at `index` of a batch, so that its refusal names its position. */
function atIndex(batchId: string | null, index: number, f: () => void): void {
  try {
    f();
  } catch (error) {
    throw batchId !== null && error instanceof LedgerError ? withIndex(error, index) : error;
  }
}
