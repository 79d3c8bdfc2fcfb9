import { randomUUID } from 'node:crypto';
import { type LockedAccountRow, lockAccounts, stateOf } from '../accounts/account-rows.js';
import { LedgerError, withIndex } from '../core/errors.js';
import { entryDates } from '../core/hash-chain.js';
import { amountToPost, amountToReverse, assertSettleable } from '../core/transfer-rules.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { WorkingSet } from '../core/working-set.js';
import { inScope } from '../ledgers/ledger-rows.js';
import type { BulkUseCase, UseCase } from '../writes/group.js';
import type { Tx } from '../writes/serializable.js';
import { type Actor, SYSTEM_ACTOR, type WriteRequest } from '../writes/write-request.js';
import { postingOf, type TransactionRecord, transactionView } from '../transactions/transaction-rows.js';
import type { TransactionView, TransactionWriteView } from '../transactions/transactions.dto.js';
import {
  insertTransactions,
  type NewTransaction,
  type NewTransfer,
  ownDate,
  plain,
  rowOf,
  type TransferInsert,
  writeLedger,
} from './ledger-writes.js';
import {
  TRANSFER_COLUMNS,
  type TransferRecord,
  type TransferRow,
  transferState,
  transferView,
} from './transfer-rows.js';
import type { BatchView, TransferView, TransferWriteView } from './transfers.dto.js';
import { type EventDraft, type EventType, resourceOf } from '../events/event-rows.js';

/*
 * The use cases that move money, each run by the write entrance (`Writes`) inside a group's SERIALIZABLE
 * transaction: lock what it touches (a transfer row first, then its accounts in id order), judge and apply the
 * movement in memory with the pure core, then write each table in one statement (`writeLedger`).
 */

/** Who asks, and how: what every creating request carries. */
interface Creating {
  /** The caller's ledgers: an account outside them is an unknown account. */
  scope: LedgerScope;
  actor: Actor;
  /**
   * The ledger the request is routed to (its lane): its first account's, which is every account's of the request
   * (a batch and a transaction stay in one ledger). Undefined when that account did not exist when it was looked up.
   */
  ledgerId: string | undefined;
  /** Decided and answered, then undone: nothing of it is written (`?dryRun=true`). */
  dryRun: boolean;
}

/** A single transfer (batchId null) or an atomic batch. */
export interface TransfersRequest extends Creating {
  items: NewTransfer[];
  batchId: string | null;
}

/** A transaction of any number of postings (SPEC 11). */
export interface TransactionRequest extends Creating {
  transaction: NewTransaction;
}

/** One creating request: transfers and transactions are decided in one working set, so a group sees them all. */
export type CreateRequest = TransfersRequest | TransactionRequest;

interface GroupState {
  set: WorkingSet;
  /** External ids already used (as `ledgerId\nexternalId`), by earlier transactions or by this group's decisions. */
  taken: Set<string>;
  createdAt: Date;
  /** Decided and not yet written. */
  rows: TransferRecord[];
  transactions: TransactionRecord[];
}

/**
 * A group's decided requests are written once they hold this many new transfers, so that PostgreSQL writes a
 * batch request's transfers while the next requests are being checked. Each statement also has a fixed cost on
 * the server, which outweighs that overlap for single transfers (BENCHMARKS.md); at 100, a batch request of 100
 * is still written on its own.
 */
const WRITE_EVERY = 100;

/**
 * New transfers from many requests at once. Each request — one transfer, or an atomic batch whose later transfers
 * see the earlier ones — is checked in memory against the accounts as the requests before it left them; a refused
 * request is rolled back in memory alone.
 */
export const newTransfers: BulkUseCase<CreateRequest, GroupState> = {
  async read(tx, requests) {
    const [taken, set] = await Promise.all([
      takenExternalIds(
        tx,
        externalIdsOf(requests, (r) => r.ledgerId),
      ),
      lockWorkingSet(tx, requests.flatMap(accountIdsOf)),
    ]);
    // A debit account unknown when the request was routed, yet there now (created in between): its ledger is
    // known only now, so its external ids are looked up now. Rare; otherwise nothing more is read.
    const late = requests.filter((r) => r.ledgerId === undefined);
    const lateIds = externalIdsOf(late, (r) => set.state(accountIdsOf(r)[0]!)?.ledgerId);
    if (lateIds.length > 0) for (const key of await takenExternalIds(tx, lateIds)) taken.add(key);
    // Dated once the writer lock is held, so a group's transfers are never dated before the group it follows.
    return { set, taken, createdAt: new Date(), rows: [], transactions: [] };
  },

  decide(state, request): unknown {
    return 'transaction' in request ? decideTransaction(state, request) : decideTransfers(state, request);
  },

  events(result) {
    const answer = result as Partial<TransferWriteView & BatchView & TransactionWriteView & { dryRun: true }>;
    if (answer.dryRun === true) return [];
    if (answer.postings !== undefined) return [movementEvent('transaction.created', answer as TransactionWriteView)];
    const transfers = answer.transfers ?? [answer as TransferWriteView];
    return transfers.map((t) => movementEvent('transfer.created', t));
  },

  write(tx, state, keys, final) {
    if (!final && state.rows.length + state.transactions.length < WRITE_EVERY) return;
    // Before the entries that name them: the entries' reference check runs at the end of their statement.
    if (state.transactions.length > 0) insertTransactions(tx, state.transactions.splice(0));
    writeLedger(tx, { transfers: state.rows.splice(0), set: state.set, outcomes: keys.splice(0) });
  },
};

/** An event whose data is the movement a write answered, as its GET shows it. */
export function movementEvent(type: EventType, answer: TransferView | TransactionView): EventDraft {
  return { type, ledgerId: answer.ledgerId, data: resourceOf(answer) };
}

function decideTransfers(
  state: GroupState,
  request: TransfersRequest,
): TransferWriteView | BatchView | ((TransferWriteView | BatchView) & { dryRun: true }) {
  const checkpoint = state.set.checkpoint();
  const mine: TransferInsert[] = [];
  // A batch stays in one ledger: its first transfer's.
  let batchLedger: string | undefined;
  try {
    request.items.forEach((item, i) => {
      try {
        const ledgerId = batchLedger ?? state.set.state(item.debitAccountId)?.ledgerId;
        // Only in a ledger the caller sees: elsewhere the refusal is the unknown account's (open() below), and a
        // duplicate there must not reveal that the id exists.
        if (
          item.externalId !== null &&
          ledgerId !== undefined &&
          request.scope.sees(ledgerId) &&
          (state.taken.has(`${ledgerId}\n${item.externalId}`) ||
            mine.some((m) => m.externalId === item.externalId && m.ledgerId === ledgerId))
        ) {
          throw new LedgerError(
            'DUPLICATE_EXTERNAL_ID',
            `externalId ${item.externalId} is already used by another transfer`,
          );
        }
        const id = randomUUID();
        // Objects are built here field by field or with Object.assign, not as `{ ...item, more }`: V8 adds each
        // property after a spread about a microsecond apiece, more than the checks cost (BENCHMARKS.md).
        const movement = {
          debitAccountId: item.debitAccountId,
          creditAccountId: item.creditAccountId,
          amount: item.amount,
          currency: item.currency,
          pending: item.pending,
          ledgerId: batchLedger,
          scope: request.scope,
        };
        state.set.open(movement, id, entryDates(state.createdAt, item.effectiveAt));
        // open() found both accounts, in one ledger.
        const ledger = state.set.state(item.debitAccountId)!.ledgerId;
        batchLedger ??= ledger;
        const status: TransferInsert['status'] = item.pending ? 'pending' : 'posted';
        mine.push(
          Object.assign({}, item, {
            id,
            ledgerId: ledger,
            status,
            batchId: request.batchId,
            reversalOf: null,
            createdAt: state.createdAt,
            createdBy: request.actor,
          }),
        );
      } catch (error) {
        // A refusal inside a batch names the position of the transfer refused.
        throw request.batchId !== null && error instanceof LedgerError ? withIndex(error, i) : error;
      }
    });
  } catch (error) {
    state.set.rollback(checkpoint);
    throw error;
  }
  const created = mine.map(rowOf);
  // The accounts as this request left them: later requests of the group are not decided yet.
  const accounts = state.set.accountsAfter(mine.flatMap((t) => [t.debitAccountId, t.creditAccountId]));
  const answer =
    request.batchId === null
      ? Object.assign(transferView(created[0]!, state.createdAt), { accounts })
      : { batchId: request.batchId, transfers: created.map((r) => transferView(r, state.createdAt)), accounts };
  if (request.dryRun) {
    state.set.rollback(checkpoint);
    return { ...answer, dryRun: true as const };
  }
  for (const t of mine) if (t.externalId !== null) state.taken.add(`${t.ledgerId}\n${t.externalId}`);
  state.rows.push(...created);
  return answer;
}

/** A new transaction, checked against the accounts as the group's earlier requests left them (SPEC 11). */
function decideTransaction(
  state: GroupState,
  request: TransactionRequest,
): TransactionWriteView | (TransactionWriteView & { dryRun: true }) {
  const t = request.transaction;
  const checkpoint = state.set.checkpoint();
  const id = randomUUID();
  const at = state.createdAt;
  const ledgerId = state.set.state(t.postings[0]!.accountId)?.ledgerId;
  // As for transfers: a duplicate only in a ledger the caller sees, else the refusal is the unknown account's.
  if (t.externalId !== null && ledgerId !== undefined && request.scope.sees(ledgerId)) {
    if (state.taken.has(`${ledgerId}\n${t.externalId}`)) {
      throw new LedgerError('DUPLICATE_EXTERNAL_ID', `externalId ${t.externalId} is already used in this ledger`);
    }
  }
  const postings = t.postings.map(postingOf);
  state.set.openPostings(
    { postings, pending: t.pending, scope: request.scope, indexed: true },
    id,
    entryDates(at, t.effectiveAt),
  );
  const accountIds = [...new Set(postings.map((p) => p.accountId))];
  const record: TransactionRecord = {
    id,
    // openPostings found every account, in one ledger.
    ledger_id: ledgerId!,
    status: t.pending ? 'pending' : 'posted',
    postings: t.postings,
    account_ids: accountIds,
    description: t.description,
    external_id: t.externalId,
    metadata: t.metadata,
    reversal_of: null,
    reversed_by: null,
    expires_at: t.pending && t.timeoutSeconds !== null ? new Date(at.getTime() + t.timeoutSeconds * 1000) : null,
    created_at: at,
    effective_at: ownDate(at, t.effectiveAt),
    posted_at: t.pending ? null : at,
    created_by: request.actor,
    posted_by: null,
    voided_by: null,
  };
  const answer = Object.assign(transactionView(record, at), { accounts: state.set.accountsAfter(accountIds) });
  if (request.dryRun) {
    state.set.rollback(checkpoint);
    return { ...answer, dryRun: true as const };
  }
  if (t.externalId !== null) state.taken.add(`${ledgerId}\n${t.externalId}`);
  state.transactions.push(record);
  return answer;
}

/** Posts all or part of a pending transfer (its accounts still active): the reservation released, the amount entered. */
export function postTransfer(
  id: string,
  requested: bigint | undefined,
  { scope, actor }: WriteRequest,
): UseCase<TransferWriteView> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const t = await lockTransfer(tx, id, scope);
    const amount = amountToPost(transferState(t), requested, now);
    const set = await lockWorkingSet(tx, [t.debit_account_id, t.credit_account_id]);
    // Dated as it was when made, however much later it is posted.
    set.settle(t.debit_account_id, t.credit_account_id, BigInt(t.amount), amount, id, entryDates(now, t.effective_at));
    const [row] = await tx.query<TransferRow>(
      `UPDATE transfers SET status = 'posted', posted_amount = $2, posted_at = $3, posted_by = $4
       WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
      [id, amount.toString(), now, actor],
    );
    const accounts = set.accountsAfter([t.debit_account_id, t.credit_account_id]);
    writeLedger(tx, { set });
    const view = transferView(row!, now);
    emit(movementEvent('transfer.posted', view));
    return { ...view, accounts };
  };
}

/** Releases a pending transfer's reservation. */
export function voidTransfer(id: string, { scope, actor }: WriteRequest): UseCase<TransferWriteView> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const t = await lockTransfer(tx, id, scope);
    assertSettleable(transferState(t), now);
    const set = await lockWorkingSet(tx, [t.debit_account_id, t.credit_account_id]);
    set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
    const [row] = await tx.query<TransferRow>(
      `UPDATE transfers SET status = 'voided', voided_by = $2 WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
      [id, actor],
    );
    const accounts = set.accountsAfter([t.debit_account_id, t.credit_account_id]);
    writeLedger(tx, { set });
    const view = transferView(row!, now);
    emit(movementEvent('transfer.voided', view));
    return { ...view, accounts };
  };
}

/** A new posted transfer in the opposite direction; the original's reversed amount grows by it. */
export function reverseTransfer(
  id: string,
  requested: bigint | undefined,
  { description, effectiveAt }: { description?: string; effectiveAt?: string },
  { scope, actor }: WriteRequest,
): UseCase<TransferWriteView> {
  return async (tx, _log, emit) => {
    const t = await lockTransfer(tx, id, scope);
    const amount = amountToReverse(transferState(t), requested);
    const set = await lockWorkingSet(tx, [t.debit_account_id, t.credit_account_id]);
    const reversal: TransferInsert = {
      id: randomUUID(),
      ledgerId: t.ledger_id,
      debitAccountId: t.credit_account_id,
      creditAccountId: t.debit_account_id,
      amount,
      currency: t.currency,
      description: description ?? null,
      externalId: null,
      metadata: {},
      pending: false,
      timeoutSeconds: null,
      effectiveAt: effectiveAt === undefined ? null : new Date(effectiveAt),
      status: 'posted',
      batchId: null,
      reversalOf: id,
      createdAt: new Date(),
      createdBy: actor,
    };
    set.open(reversal, reversal.id, entryDates(reversal.createdAt, reversal.effectiveAt));
    const [original] = await tx.query<TransferRow>(
      `UPDATE transfers SET reversed_amount = reversed_amount + $2 WHERE id = $1 RETURNING ${TRANSFER_COLUMNS}`,
      [id, amount.toString()],
    );
    const row = rowOf(reversal);
    const accounts = set.accountsAfter([reversal.debitAccountId, reversal.creditAccountId]);
    writeLedger(tx, { transfers: [row], set });
    const view = transferView(row, reversal.createdAt);
    emit(movementEvent('transfer.created', view));
    emit(movementEvent('transfer.reversed', transferView(original!, reversal.createdAt)));
    return { ...view, accounts };
  };
}

/** A ledger's ($3) due pending transfers, oldest expiry first, along `transfers_pending_expiry_idx` (ledger_id, expires_at). */
export const EXPIRE_DUE_SQL = `SELECT ${TRANSFER_COLUMNS} FROM transfers
  WHERE ledger_id = $3 AND status = 'pending' AND expires_at <= $1
  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`;

/**
 * Expires a ledger's due pending transfers and releases their reservations; resolves to how many. SKIP LOCKED lets several
 * instances sweep at once, each taking different rows, and never waits on a transfer that is being posted.
 */
export function expireDue(ledgerId: string, limit: number): UseCase<number> {
  return async (tx, _log, emit) => {
    const now = new Date();
    const due = await tx.query<TransferRow>(EXPIRE_DUE_SQL, [now, limit, ledgerId]);
    if (due.length === 0) return 0;
    const set = await lockWorkingSet(
      tx,
      due.flatMap((t) => [t.debit_account_id, t.credit_account_id]),
    );
    for (const t of due) set.release(t.debit_account_id, t.credit_account_id, BigInt(t.amount));
    const expired = await tx.query<TransferRow>(
      `UPDATE transfers SET status = 'expired', voided_by = $2 WHERE id = ANY($1::uuid[]) RETURNING ${TRANSFER_COLUMNS}`,
      [due.map((t) => t.id), SYSTEM_ACTOR],
    );
    writeLedger(tx, { set });
    for (const t of expired) emit(movementEvent('transfer.expired', transferView(t, now)));
    return due.length;
  };
}

/** A transfer outside the caller's ledgers is not read at all, so it is refused as one that does not exist. */
async function lockTransfer(tx: Tx, id: string, scope: LedgerScope): Promise<TransferRow> {
  const [t] = await tx.query<TransferRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1 AND ${inScope('ledger_id', 2)} FOR UPDATE`,
    [id, scope.ids],
  );
  if (t === undefined) throw new LedgerError('NOT_FOUND', `transfer ${id} does not exist`);
  return t;
}

export async function lockWorkingSet(tx: Tx, accountIds: string[]): Promise<WorkingSet> {
  const rows = await lockAccounts(tx, accountIds);
  return new WorkingSet(
    [...rows.values()].map((row: LockedAccountRow) => ({
      state: stateOf(row),
      head: { version: Number(row.version), lastHash: row.last_hash },
    })),
  );
}

/** Every account a request names, its routing account first. */
function accountIdsOf(r: CreateRequest): string[] {
  if ('transaction' in r) return r.transaction.postings.map((p) => p.accountId);
  return r.items.flatMap((t) => [t.debitAccountId, t.creditAccountId]);
}

/** The (ledger, externalId) pairs of the requests that name one, in the ledger `ledgerOf` gives (if any). */
function externalIdsOf(
  requests: readonly CreateRequest[],
  ledgerOf: (r: CreateRequest) => string | undefined,
): [ledgerId: string, externalId: string][] {
  return requests.flatMap((r) => {
    const ledgerId = ledgerOf(r);
    if (ledgerId === undefined) return [];
    const items = 'transaction' in r ? [r.transaction] : r.items;
    return items.flatMap((t) => (t.externalId === null ? [] : [[ledgerId, t.externalId] as [string, string]]));
  });
}

/**
 * Which of these (ledger, externalId) pairs earlier transfers or transactions used (one space per ledger), as
 * `ledgerId\nexternalId`. Each pair is one probe of each table's ledger-leading unique key (ledger_id,
 * external_id), so a group reads, and predicate-locks, only its own ledgers' pages of them; each key stays the
 * final guard within its table, and SERIALIZABLE across the two.
 *
 * The probe seeks the first key at or after the pair and compares it: an equality on external_id alone could be
 * answered from `transfers_external_id_idx` (the lists' index, all ledgers mixed) instead, which the planner
 * prefers whenever few of the table's pages are all-visible; this row comparison in key order only the key
 * serves.
 */
export const TAKEN_EXTERNAL_IDS_SQL = `SELECT t.ledger_id, t.external_id
  FROM unnest($1::uuid[], $2::text[]) AS w(ledger_id, external_id)
  CROSS JOIN LATERAL (
    SELECT ledger_id, external_id FROM transfers
    WHERE (ledger_id, external_id) >= (w.ledger_id, w.external_id) AND external_id IS NOT NULL
    ORDER BY ledger_id, external_id LIMIT 1) t
  WHERE t.ledger_id = w.ledger_id AND t.external_id = w.external_id
  UNION ALL
  SELECT t.ledger_id, t.external_id
  FROM unnest($1::uuid[], $2::text[]) AS w(ledger_id, external_id)
  CROSS JOIN LATERAL (
    SELECT ledger_id, external_id FROM transactions
    WHERE (ledger_id, external_id) >= (w.ledger_id, w.external_id) AND external_id IS NOT NULL
    ORDER BY ledger_id, external_id LIMIT 1) t
  WHERE t.ledger_id = w.ledger_id AND t.external_id = w.external_id`;

async function takenExternalIds(tx: Tx, wanted: [string, string][]): Promise<Set<string>> {
  if (wanted.length === 0) return new Set();
  const rows = await tx.query<{ ledger_id: string; external_id: string }>(TAKEN_EXTERNAL_IDS_SQL, [
    plain(wanted.map(([ledgerId]) => ledgerId)),
    wanted.map(([, externalId]) => externalId),
  ]);
  return new Set(rows.map((r) => `${r.ledger_id}\n${r.external_id}`));
}
