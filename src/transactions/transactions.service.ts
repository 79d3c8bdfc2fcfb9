import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { type Page, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { LedgerLookup } from '../ledgers/ledger-lookup.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import { movementOptions, type NewTransaction } from '../transfers/ledger-writes.js';
import { TRANSFER_COLUMNS, type TransferRow } from '../transfers/transfer-rows.js';
import { type TransactionRequest, newTransfers } from '../transfers/transfer-writes.js';
import { listParameters, TRANSFER_LIST_SQL } from '../transfers/transfers.service.js';
import type { Outcome } from '../writes/idempotency.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import {
  type StoredPosting,
  TRANSACTION_COLUMNS,
  type TransactionRow,
  transactionView,
  transferAsTransaction,
} from './transaction-rows.js';
import { postTransaction, reverseTransaction, voidTransaction } from './transaction-writes.js';
import type {
  CreateTransactionDto,
  PostingDto,
  ReverseTransactionDto,
  TransactionListQuery,
  TransactionView,
  TransactionWriteView,
} from './transactions.dto.js';

/** Transactions: validated requests turned into use cases for the write entrance, and reads (transfers included). */
@Injectable()
export class TransactionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    private readonly lookup: LedgerLookup,
  ) {}

  /**
   * Decided in bulk with new transfers, in the lane of its first posting's account (a transaction stays in that
   * ledger). A dry run is decided there like the real call and undone; its key is neither looked up nor kept.
   */
  async create(dto: CreateTransactionDto, w: WriteRequest, dryRun = false): Promise<Outcome<TransactionWriteView>> {
    const ledgerId = await this.lookup.ofAccount(dto.postings[0]!.accountId);
    const request: TransactionRequest = {
      transaction: toNewTransaction(dto),
      scope: w.scope,
      actor: w.actor,
      ledgerId,
      dryRun,
    };
    const work = { bulk: newTransfers, input: request, weight: dto.postings.length };
    return this.writes.submit(dryRun ? { ...w, key: undefined } : w, work, ledgerId);
  }

  async post(id: string, w: WriteRequest): Promise<Outcome<TransactionWriteView>> {
    return this.writes.submit(w, { run: postTransaction(id, w) }, await this.lookup.ofTransaction(id));
  }

  async void(id: string, w: WriteRequest): Promise<Outcome<TransactionWriteView>> {
    return this.writes.submit(w, { run: voidTransaction(id, w) }, await this.lookup.ofTransaction(id));
  }

  async reverse(id: string, dto: ReverseTransactionDto, w: WriteRequest): Promise<Outcome<TransactionWriteView>> {
    const run = reverseTransaction(id, dto, w);
    return this.writes.submit(w, { run }, await this.lookup.ofTransaction(id));
  }

  /** One id space: a transfer is shown as a transaction of two postings. */
  async get(id: string, scope: LedgerScope): Promise<TransactionView> {
    const [row] = await this.db.query<TransactionRow[]>(
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
      [id, scope.ids],
    );
    if (row !== undefined) return transactionView(row);
    const [transfer] = await this.db.query<TransferRow[]>(
      `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
      [id, scope.ids],
    );
    if (transfer === undefined) throw new LedgerError('NOT_FOUND', `transaction ${id} does not exist`);
    return transferAsTransaction(transfer);
  }

  /**
   * Transactions and transfers in one `seq` order (they share the sequence): a page of each with the same filters,
   * merged, so that each table answers from its own indexes.
   */
  async list(q: TransactionListQuery, scope: LedgerScope): Promise<Page<TransactionView>> {
    const filters = listParameters(q, scope);
    const [transactions, transfers] = await Promise.all([
      this.db.query<TransactionRow[]>(
        q.accountId === undefined ? TRANSACTION_LIST_SQL : TRANSACTIONS_OF_ACCOUNT_SQL,
        filters,
      ),
      this.db.query<TransferRow[]>(TRANSFER_LIST_SQL, filters),
    ]);
    const now = new Date();
    const merged = [
      ...transactions.map((r) => ({ seq: BigInt(r.seq), view: transactionView(r, now) })),
      ...transfers.map((r) => ({ seq: BigInt(r.seq), view: transferAsTransaction(r, now) })),
    ].sort((a, b) => (a.seq < b.seq ? -1 : 1));
    return toPage(
      merged.slice(0, q.limit + 1),
      q.limit,
      (r) => r.view,
      (r) => [r.seq.toString()],
    );
  }
}

function toNewTransaction(dto: CreateTransactionDto): NewTransaction {
  return { postings: dto.postings.map(storedPosting), ...movementOptions(dto) };
}

/**
 * The posting as the caller sent it, apart from its DTO class. Fields the caller left out may be present as
 * undefined, which the JSON it is stored and answered as leaves out.
 */
function storedPosting(p: PostingDto): StoredPosting {
  const { accountId, direction, amount, currency, lockVersion, conditions } = p;
  return { accountId, direction, amount, currency, lockVersion, conditions };
}

/** The conditions of a page of transactions, with the parameters of `TRANSFER_LIST_SQL` (every filter optional, null). */
const TRANSACTION_FILTERS = `($1::bigint IS NULL OR seq > $1::bigint)
    AND ($2::uuid IS NULL OR account_ids @> ARRAY[$2::uuid])
    AND ($3::text IS NULL OR status = $3 OR ($3 = 'expired' AND status = 'pending' AND expires_at <= now()))
    AND ($3::text IS DISTINCT FROM 'pending' OR expires_at IS NULL OR expires_at > now())
    AND ($4::text IS NULL OR external_id = $4)
    AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
    AND ($8::text IS NULL OR ledger_id = (${ledgerByRef(8)})) AND ${inScope('ledger_id', 9)}
    AND ($10::text IS NULL OR created_by ->> 'id' = $10) AND ($11::jsonb IS NULL OR (metadata <> '{}' AND metadata @> $11::jsonb))`;

/** A page of transactions in `seq` order, along `transactions_seq_key`; `$11` metadata pairs (`transactions_metadata_idx`). */
export const TRANSACTION_LIST_SQL = `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE ${TRANSACTION_FILTERS}
  ORDER BY seq LIMIT $7`;

/**
 * A page of one account's transactions (`$2`): its rows from the GIN index on `account_ids`, then sorted. Planned
 * with the order outside (`OFFSET 0` keeps the inner query apart), because the planner, which cannot tell how many
 * rows an array holds an element in, would otherwise walk every transaction in `seq` order hoping to meet the
 * account's soon. An account with very many transactions pays a sort of them per page; a per-posting table with
 * an (account, seq) key, as transfers have, would not.
 */
export const TRANSACTIONS_OF_ACCOUNT_SQL = `SELECT * FROM (
    SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE ${TRANSACTION_FILTERS} OFFSET 0) mine
  ORDER BY seq LIMIT $7`;
