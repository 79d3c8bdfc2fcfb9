import { randomUUID } from 'node:crypto';
import type { WorkingSet } from '../core/working-set.js';
import type { Tx } from '../writes/serializable.js';
import type { Actor } from '../writes/write-request.js';
import { type NewOutcome, outcomesInsert } from '../writes/idempotency.js';
import type { StoredPosting, TransactionRecord } from '../transactions/transaction-rows.js';
import type { TransferRecord } from './transfer-rows.js';
import type { MovementOptionsDto } from './transfers.dto.js';

/** What every new movement carries besides its money, defaults filled in. */
export interface MovementOptions {
  description: string | null;
  externalId: string | null;
  metadata: Record<string, string>;
  pending: boolean;
  timeoutSeconds: number | null;
  /** When it counts in the books (SPEC 12); null: when it is written. */
  effectiveAt: Date | null;
}

export interface NewTransfer extends MovementOptions {
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
}

/** A transaction as requested (SPEC 11): its postings as sent, judged by the core as `Posting`s. */
export interface NewTransaction extends MovementOptions {
  postings: StoredPosting[];
}

/** A request's movement options, with their defaults. */
export function movementOptions(dto: MovementOptionsDto): MovementOptions {
  return {
    description: dto.description ?? null,
    externalId: dto.externalId ?? null,
    metadata: dto.metadata ?? {},
    pending: dto.pending ?? false,
    timeoutSeconds: dto.timeoutSeconds ?? null,
    effectiveAt: dto.effectiveAt === undefined ? null : new Date(dto.effectiveAt),
  };
}

export interface TransferInsert extends NewTransfer {
  id: string;
  ledgerId: string;
  status: 'pending' | 'posted';
  batchId: string | null;
  reversalOf: string | null;
  createdAt: Date;
  createdBy: Actor;
}

/** The row a new transfer will have, known before it is written (the API never shows `seq`); what `writeLedger` inserts. */
export function rowOf(t: TransferInsert): TransferRecord {
  const posted = t.status === 'posted';
  return {
    id: t.id,
    ledger_id: t.ledgerId,
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
    effective_at: ownDate(t.createdAt, t.effectiveAt),
    posted_at: posted ? t.createdAt : null,
    created_by: t.createdBy,
    // Posted when made, by its maker: stored once, as created_by (transferView shows it as postedBy too).
    posted_by: null,
    voided_by: null,
  };
}

/** What a movement's `effective_at` column holds: its date, only when before it was recorded (`entryDates`). */
export function ownDate(createdAt: Date, effectiveAt: Date | null): Date | null {
  return effectiveAt !== null && effectiveAt.getTime() < createdAt.getTime() ? effectiveAt : null;
}

/**
 * Writes what a unit of work (or part of a group) did since the last write of its working set, in ONE
 * statement of data-modifying CTEs: the new transfers, their ledger entries, the idempotency outcomes, and the
 * account counters (by delta, each update guarded by the version the previous write left). Foreign keys are
 * checked at the end of the statement, when all of it is there. The statement is pipelined (`Tx.write`):
 * nothing waits for it, and if it fails the transaction does not commit.
 */
export function writeLedger(
  tx: Tx,
  w: { transfers?: TransferRecord[]; set: WorkingSet; outcomes?: NewOutcome[] },
): void {
  const t = w.transfers ?? [];
  const { entries: e, changes } = w.set.take();
  const outcomes = w.outcomes ?? [];
  if (t.length === 0 && e.length === 0 && changes.length === 0 && outcomes.length === 0) return;
  const keys = outcomesInsert(outcomes, 43);
  const actors = actorsOf(t);
  tx.write(
    `WITH new_transfers AS (
       INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
         description, external_id, metadata, batch_id, reversal_of, expires_at, created_at, posted_at, ledger_id,
         created_by, effective_at)
       SELECT id, debit_account_id, credit_account_id, amount, currency, status, posted_amount, description,
         external_id, metadata, batch_id, reversal_of, expires_at, created_at, posted_at, ledger_id, $17::jsonb -> actor,
         effective_at
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::bigint[],
         $8::text[], $9::text[], $10::jsonb[], $11::uuid[], $12::uuid[], $13::timestamptz[], $14::timestamptz[],
         $15::timestamptz[], $16::uuid[], $18::int[], $41::timestamptz[]) AS n(id, debit_account_id, credit_account_id,
         amount, currency, status, posted_amount, description, external_id, metadata, batch_id, reversal_of, expires_at,
         created_at, posted_at, ledger_id, actor, effective_at)
     ), new_entries AS (
       INSERT INTO ledger_entries (id, transfer_id, account_id, currency, direction, amount, account_version,
         balance_after, created_at, prev_hash, hash, debits_after, credits_after, ledger_id, effective_at)
       SELECT * FROM unnest($19::uuid[], $20::uuid[], $21::uuid[], $22::text[], $23::text[], $24::bigint[],
         $25::bigint[], $26::bigint[], $27::timestamptz[], $28::text[], $29::text[], $30::bigint[], $31::bigint[],
         $32::uuid[], $42::timestamptz[])
     ), new_keys AS (
       ${keys.sql}
     )
     -- The rows are locked, so a version other than the one read can only be a bug: it sets the version
     -- backwards, which accounts_guard refuses, failing the statement and with it the transaction.
     UPDATE accounts a SET debits_posted = a.debits_posted + v.dp, credits_posted = a.credits_posted + v.cp,
       debits_pending = a.debits_pending + v.dq, credits_pending = a.credits_pending + v.cq,
       version = CASE WHEN a.version = v.from_version THEN v.to_version ELSE -1 END, last_hash = v.last_hash,
       updated_at = now()
     FROM unnest($33::uuid[], $34::bigint[], $35::bigint[], $36::bigint[], $37::bigint[], $38::bigint[],
       $39::bigint[], $40::text[]) AS v(id, dp, cp, dq, cq, from_version, to_version, last_hash)
     WHERE a.id = v.id`,
    [
      plain(t.map((x) => x.id)),
      plain(t.map((x) => x.debit_account_id)),
      plain(t.map((x) => x.credit_account_id)),
      plain(t.map((x) => x.amount)),
      plain(t.map((x) => x.currency)),
      plain(t.map((x) => x.status)),
      plain(t.map((x) => x.posted_amount)),
      t.map((x) => x.description),
      t.map((x) => x.external_id),
      t.map((x) => JSON.stringify(x.metadata)),
      plain(t.map((x) => x.batch_id)),
      plain(t.map((x) => x.reversal_of)),
      plain(t.map((x) => x.expires_at?.toISOString() ?? null)),
      plain(t.map((x) => x.created_at.toISOString())),
      plain(t.map((x) => x.posted_at?.toISOString() ?? null)),
      plain(t.map((x) => x.ledger_id)),
      actors.json,
      actors.index,
      plain(e.map(() => randomUUID())),
      plain(e.map((x) => x.transferId)),
      plain(e.map((x) => x.accountId)),
      plain(e.map((x) => x.currency)),
      plain(e.map((x) => x.direction)),
      plain(e.map((x) => x.amount.toString())),
      plain(e.map((x) => String(x.accountVersion))),
      plain(e.map((x) => x.balanceAfter.toString())),
      plain(e.map((x) => x.createdAt)),
      plain(e.map((x) => x.prevHash)),
      plain(e.map((x) => x.hash)),
      plain(e.map((x) => x.debitsAfter.toString())),
      plain(e.map((x) => x.creditsAfter.toString())),
      plain(e.map((x) => x.ledgerId)),
      plain(changes.map((c) => c.id)),
      plain(changes.map((c) => c.delta.debitsPosted.toString())),
      plain(changes.map((c) => c.delta.creditsPosted.toString())),
      plain(changes.map((c) => c.delta.debitsPending.toString())),
      plain(changes.map((c) => c.delta.creditsPending.toString())),
      plain(changes.map((c) => String(c.fromVersion))),
      plain(changes.map((c) => String(c.toVersion))),
      plain(changes.map((c) => c.lastHash)),
      plain(t.map((x) => x.effective_at?.toISOString() ?? null)),
      plain(e.map((x) => x.effectiveAt ?? null)),
      ...keys.values,
    ],
    'ledger_write',
  );
}

/**
 * New transactions, in one statement: the rows as one JSON array, read back as `transactions` records, `seq` drawn
 * from the transfers' sequence (one order over both). Pipelined like `writeLedger`, and written before it, whose entries name them.
 */
export function insertTransactions(tx: Tx, rows: readonly TransactionRecord[]): void {
  const columns = `id, ledger_id, status, postings, account_ids, description, external_id, metadata, reversal_of,
    reversed_by, expires_at, created_at, effective_at, posted_at, created_by, posted_by, voided_by`;
  tx.write(
    `INSERT INTO transactions (seq, ${columns})
     SELECT nextval('transfers_seq_seq'), ${columns} FROM jsonb_populate_recordset(NULL::transactions, $1::jsonb)`,
    [JSON.stringify(rows)],
    'transactions_insert',
  );
}

/**
 * The new transfers' creators as one JSON array and each transfer's position in it: a group's transfers come from
 * a few callers, and pg would quote and escape every element of an array of JSON texts (the costliest part of
 * building a statement, as for free text), where a list of small integers goes as a plain array.
 */
function actorsOf(transfers: readonly TransferRecord[]): { json: string; index: string } {
  const positions = new Map<Actor, number>();
  const index = transfers.map((x) => {
    if (x.created_by === null) return null;
    let i = positions.get(x.created_by);
    if (i === undefined) {
      i = positions.size;
      positions.set(x.created_by, i);
    }
    return String(i);
  });
  return { json: JSON.stringify([...positions.keys()]), index: plain(index) };
}

// What the elements of a plain array may hold: uuids, integers, hex hashes, ISO timestamps, currency codes and
// fixed words, never a comma, quote, brace, backslash or space.
const PLAIN = /^[0-9A-Za-z:.+_,-]*$/;

/**
 * The PostgreSQL array literal of values that need no quoting: pg would quote and escape every element, which
 * profiling showed to be the costliest part of building a group's statement. Anything else (an empty string,
 * the word NULL, which would read as null, or any other character) is refused as a bug, never sent. Free text
 * (descriptions, external ids, metadata, keys, responses) goes through pg's own quoting.
 */
export function plain(values: readonly (string | null)[]): string {
  const inner = values.map((v) => v ?? 'NULL').join(',');
  if (
    !PLAIN.test(inner) ||
    commas(inner) !== Math.max(values.length - 1, 0) ||
    values.includes('') ||
    values.includes('NULL')
  ) {
    throw new Error(`not a plain array: ${inner.slice(0, 200)}`);
  }
  return `{${inner}}`;
}

/** The commas in `s`: one fewer than the elements, unless an element held one. */
function commas(s: string): number {
  let n = 0;
  for (let i = s.indexOf(','); i !== -1; i = s.indexOf(',', i + 1)) n++;
  return n;
}
