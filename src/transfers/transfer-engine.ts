import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type AccountRow, lockAccounts, stateOf } from '../accounts/account-rows.js';
import { LedgerError, withIndex } from '../core/errors.js';
import { WorkingSet } from '../core/working-set.js';
import type { BulkHandler, BulkResult } from '../database/group-commit.js';
import type { Tx } from '../database/serializable.js';
import { problemBody } from '../http/problem.filter.js';
import { findOutcomes, keyOf, type Outcome, replay, storeOutcomes } from '../idempotency/idempotency-store.js';
import type { WriteRequest } from '../idempotency/write-request.js';
import { TRANSFER_COLUMNS, type TransferRow, isExpired } from './transfer-rows.js';

/** One creating request: a single transfer (batchId null) or an atomic batch, rendered into its response. */
export interface CreateRequest {
  items: NewTransfer[];
  batchId: string | null;
  write: WriteRequest;
  render: (rows: TransferRow[]) => unknown;
}

/** What the group does with one request, decided in memory before anything is written. */
type Plan =
  { created: string[] } | { outcome: Outcome } | { sameAs: number } | { refused: LedgerError; store?: boolean };

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

interface TransferInsert extends NewTransfer {
  id: string;
  status: 'pending' | 'posted';
  batchId: string | null;
  reversalOf: string | null;
  createdAt: Date;
}

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
   * Then one statement per table writes them all: transfers, entries, account counters, idempotency keys.
   */
  readonly createGroup: BulkHandler<CreateRequest> = async (tx, requests) => {
    const keys = requests.map((r) => (r.write.key === undefined ? undefined : keyOf(r.write.userId, r.write.key)));
    const stored = await findOutcomes(
      tx,
      requests.flatMap((r) => (r.write.key === undefined ? [] : [{ userId: r.write.userId, key: r.write.key }])),
    );
    const taken = await takenExternalIds(
      tx,
      requests.flatMap((r) => r.items.map((t) => t.externalId)),
    );
    const set = await this.lock(
      tx,
      requests.flatMap((r) => r.items.flatMap((t) => [t.debitAccountId, t.creditAccountId])),
    );
    const createdAt = new Date();
    const inserts: TransferInsert[] = [];
    const plans: Plan[] = [];
    const firstWithKey = new Map<string, number>();
    requests.forEach((request, index) => {
      const key = keys[index];
      const earlier = key === undefined ? undefined : stored.get(key);
      const sibling = key === undefined ? undefined : firstWithKey.get(key);
      if (earlier !== undefined || sibling !== undefined) {
        const hash = earlier?.requestHash ?? requests[sibling!]!.write.requestHash;
        plans.push(
          hash !== request.write.requestHash
            ? {
                refused: new LedgerError(
                  'IDEMPOTENCY_KEY_REUSED',
                  'this Idempotency-Key was used for a different request',
                ),
              }
            : earlier !== undefined
              ? { outcome: replay(earlier, hash) }
              : { sameAs: sibling! },
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
        plans.push({ refused: error, store: key !== undefined });
        return;
      }
      for (const t of mine) if (t.externalId !== null) taken.add(t.externalId);
      inserts.push(...mine);
      plans.push({ created: mine.map((t) => t.id) });
    });

    const rows = new Map((await insertTransfers(tx, inserts)).map((r) => [r.id, r]));
    await this.flush(tx, set);
    const outcomes = plans.map((plan, index): Outcome | LedgerError | undefined => {
      if ('created' in plan) {
        return { status: 201, body: requests[index]!.render(plan.created.map((id) => rows.get(id)!)), replayed: false };
      }
      if ('outcome' in plan) return plan.outcome;
      if ('refused' in plan) {
        if (!plan.store) return plan.refused;
        const body = problemBody(plan.refused, requests[index]!.write.requestId);
        return { status: body.status, body, replayed: false };
      }
      return undefined; // sameAs: filled in below, from the request it repeats
    });
    plans.forEach((plan, index) => {
      if ('sameAs' in plan) outcomes[index] = { ...(outcomes[plan.sameAs] as Outcome), replayed: true };
    });
    await storeOutcomes(
      tx,
      plans.flatMap((plan, index) => {
        const w = requests[index]!.write;
        const outcome = outcomes[index];
        const fresh = 'created' in plan || ('refused' in plan && plan.store === true);
        return fresh && w.key !== undefined && outcome !== undefined && !(outcome instanceof LedgerError)
          ? [{ userId: w.userId, key: w.key, requestHash: w.requestHash, status: outcome.status, body: outcome.body }]
          : [];
      }),
    );
    return outcomes.map((o): BulkResult => (o instanceof LedgerError ? { refusal: o } : { value: o }));
  };

  /** Posts all or part of a pending transfer: the whole reservation is released, the posted amount entered. */
  post(id: string, amount: bigint | undefined): (tx: Tx) => Promise<TransferRow> {
    return async (tx) => {
      const t = await lockPending(tx, id);
      const posted = amount ?? BigInt(t.amount);
      if (posted > BigInt(t.amount)) {
        throw new LedgerError('AMOUNT_EXCEEDS_PENDING', `transfer ${id} reserved ${t.amount}, ${posted} requested`);
      }
      const set = await this.lock(tx, [t.debit_account_id, t.credit_account_id]);
      const now = new Date();
      set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
      set.post(t.debit_account_id, t.credit_account_id, posted, id, now.toISOString());
      const [row] = await tx.query<TransferRow>(
        `UPDATE transfers SET status = 'posted', posted_amount = $2, posted_at = $3 WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
        [id, posted.toString(), now],
      );
      await this.flush(tx, set);
      return row!;
    };
  }

  /** Releases a pending transfer's reservation. */
  void(id: string): (tx: Tx) => Promise<TransferRow> {
    return async (tx) => {
      const t = await lockPending(tx, id);
      const set = await this.lock(tx, [t.debit_account_id, t.credit_account_id]);
      set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
      const [row] = await tx.query<TransferRow>(
        `UPDATE transfers SET status = 'voided' WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
        [id],
      );
      await this.flush(tx, set);
      return row!;
    };
  }

  /** A new posted transfer in the opposite direction; the original's reversed amount never passes its posted amount. */
  reverse(id: string, amount: bigint | undefined, description: string | undefined): (tx: Tx) => Promise<TransferRow> {
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
      const [row] = await insertTransfers(tx, [reversal]);
      await this.flush(tx, set);
      return row!;
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
      await this.flush(tx, set);
      return due.length;
    };
  }

  private async lock(tx: Tx, accountIds: string[]): Promise<WorkingSet> {
    const rows = await lockAccounts(tx, accountIds);
    return new WorkingSet(
      [...rows.values()].map((row: AccountRow) => ({
        state: stateOf(row),
        head: { version: Number(row.version), lastHash: row.last_hash },
      })),
    );
  }

  /** One INSERT for the entries, one UPDATE for the accounts (counters by delta, version checked). */
  private async flush(tx: Tx, set: WorkingSet): Promise<void> {
    const e = set.entries;
    if (e.length > 0) {
      await tx.query(
        `INSERT INTO ledger_entries (id, transfer_id, account_id, currency, direction, amount, account_version,
           balance_after, created_at, prev_hash, hash, debits_after, credits_after)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
           $8::bigint[], $9::timestamptz[], $10::text[], $11::text[], $12::bigint[], $13::bigint[])`,
        [
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
        ],
      );
    }
    const changes = set.changes();
    if (changes.length === 0) return;
    const updated = await tx.query(
      `UPDATE accounts a SET debits_posted = a.debits_posted + v.dp, credits_posted = a.credits_posted + v.cp,
         debits_pending = a.debits_pending + v.dq, credits_pending = a.credits_pending + v.cq,
         version = v.to_version, last_hash = v.last_hash, updated_at = now()
       FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[])
         AS v(id, dp, cp, dq, cq, from_version, to_version, last_hash)
       WHERE a.id = v.id AND a.version = v.from_version
       RETURNING a.id`,
      [
        changes.map((c) => c.id),
        changes.map((c) => c.delta.debitsPosted.toString()),
        changes.map((c) => c.delta.creditsPosted.toString()),
        changes.map((c) => c.delta.debitsPending.toString()),
        changes.map((c) => c.delta.creditsPending.toString()),
        changes.map((c) => c.fromVersion),
        changes.map((c) => c.toVersion),
        changes.map((c) => c.lastHash),
      ],
    );
    // The rows are locked, so a mismatch can only be a bug: fail the whole unit of work rather than write it.
    if (updated.length !== changes.length) throw new Error('account versions moved under a lock');
  }
}

async function lockPending(tx: Tx, id: string): Promise<TransferRow> {
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

async function insertTransfers(tx: Tx, t: TransferInsert[]): Promise<TransferRow[]> {
  return tx.query<TransferRow>(
    `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
       description, external_id, metadata, batch_id, reversal_of, expires_at, created_at, posted_at)
     SELECT id, d, c, amount, currency, status, CASE WHEN status = 'posted' THEN amount ELSE 0 END,
       description, external_id, metadata::jsonb, batch_id, reversal_of,
       CASE WHEN timeout IS NULL THEN NULL ELSE created_at + make_interval(secs => timeout) END,
       created_at, CASE WHEN status = 'posted' THEN created_at END
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::text[], $10::uuid[], $11::uuid[], $12::int[], $13::timestamptz[])
       AS v(id, d, c, amount, currency, status, description, external_id, metadata, batch_id, reversal_of, timeout, created_at)
     RETURNING ${TRANSFER_COLUMNS}`,
    [
      t.map((x) => x.id),
      t.map((x) => x.debitAccountId),
      t.map((x) => x.creditAccountId),
      t.map((x) => x.amount.toString()),
      t.map((x) => x.currency),
      t.map((x) => x.status),
      t.map((x) => x.description),
      t.map((x) => x.externalId),
      t.map((x) => JSON.stringify(x.metadata)),
      t.map((x) => x.batchId),
      t.map((x) => x.reversalOf),
      t.map((x) => (x.pending ? x.timeoutSeconds : null)),
      t.map((x) => x.createdAt),
    ],
  );
}
