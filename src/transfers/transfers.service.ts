import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import { parseAmount } from '../core/money.js';
import type { Outcome } from '../writes/idempotency.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { LedgerLookup } from '../ledgers/ledger-lookup.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import { movementOptions, type NewTransfer } from './ledger-writes.js';
import { TRANSFER_COLUMNS, type TransferRow, transferView } from './transfer-rows.js';
import { type CreateRequest, newTransfers, postTransfer, reverseTransfer, voidTransfer } from './transfer-writes.js';
import type {
  BatchView,
  CreateBatchDto,
  CreateTransferDto,
  PostTransferDto,
  ReverseTransferDto,
  TransferListQuery,
  TransferView,
} from './transfers.dto.js';

/** Transfers: validated requests turned into use cases for the write entrance, and reads. */
@Injectable()
export class TransfersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    private readonly lookup: LedgerLookup,
  ) {}

  /** New transfers go in bulk: checked in memory and written with the whole group. */
  create(dto: CreateTransferDto, w: WriteRequest, dryRun = false): Promise<Outcome<TransferView>> {
    return this.open(w, [toNewTransfer(dto)], null, dryRun);
  }

  batch(dto: CreateBatchDto, w: WriteRequest, dryRun = false): Promise<Outcome<BatchView>> {
    return this.open(w, dto.transfers.map(toNewTransfer), randomUUID(), dryRun);
  }

  async post(id: string, dto: PostTransferDto, w: WriteRequest): Promise<Outcome<TransferView>> {
    const amount = dto.amount === undefined ? undefined : parseAmount(dto.amount);
    return this.writes.submit(w, { run: postTransfer(id, amount, w) }, await this.lookup.ofTransfer(id));
  }

  async void(id: string, w: WriteRequest): Promise<Outcome<TransferView>> {
    return this.writes.submit(w, { run: voidTransfer(id, w) }, await this.lookup.ofTransfer(id));
  }

  async reverse(id: string, dto: ReverseTransferDto, w: WriteRequest): Promise<Outcome<TransferView>> {
    const amount = dto.amount === undefined ? undefined : parseAmount(dto.amount);
    const run = reverseTransfer(id, amount, dto, w);
    return this.writes.submit(w, { run }, await this.lookup.ofTransfer(id));
  }

  /**
   * In the lane of the first transfer's debit account: a batch stays in that ledger, so its external ids are
   * looked up in that ledger too.
   */
  private async open<T>(
    w: WriteRequest,
    items: NewTransfer[],
    batchId: string | null,
    dryRun: boolean,
  ): Promise<Outcome<T>> {
    const ledgerId = await this.lookup.ofAccount(items[0]!.debitAccountId);
    const request: CreateRequest = { items, batchId, scope: w.scope, actor: w.actor, ledgerId, dryRun };
    const work = { bulk: newTransfers, input: request, weight: items.length };
    // A dry run is decided in its ledger's group like the real call, against the same state, and undone there; its
    // Idempotency-Key is neither looked up nor kept (SPEC 11).
    return this.writes.submit<T>(dryRun ? { ...w, key: undefined } : w, work, ledgerId);
  }

  async get(id: string, scope: LedgerScope): Promise<TransferView> {
    const [row] = await this.db.query<TransferRow[]>(
      `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
      [id, scope.ids],
    );
    if (row === undefined) throw new LedgerError('NOT_FOUND', `transfer ${id} does not exist`);
    return transferView(row);
  }

  async list(q: TransferListQuery, scope: LedgerScope): Promise<Page<TransferView>> {
    const rows = await this.db.query<TransferRow[]>(TRANSFER_LIST_SQL, listParameters(q, scope));
    return toPage(
      rows,
      q.limit,
      (r) => transferView(r),
      (r) => [r.seq],
    );
  }
}

function toNewTransfer(dto: CreateTransferDto): NewTransfer {
  return {
    debitAccountId: dto.debitAccountId,
    creditAccountId: dto.creditAccountId,
    amount: parseAmount(dto.amount),
    currency: dto.currency,
    ...movementOptions(dto),
  };
}

/** The parameters of `TRANSFER_LIST_SQL`, which the transactions list's queries take too. */
export function listParameters(q: TransferListQuery, scope: LedgerScope): unknown[] {
  return [
    decodeCursor(q.cursor, ['seq'])?.[0] ?? null,
    q.accountId ?? null,
    q.status ?? null,
    q.externalId ?? null,
    q.from ?? null,
    q.to ?? null,
    q.limit + 1,
    q.ledgerId ?? null,
    scope.ids,
    q.createdBy ?? null,
    q.metadata === undefined ? null : JSON.stringify(q.metadata),
  ];
}

/**
 * A page of transfers in `seq` order; every filter is optional (null), `$10` the creator's id (`?createdBy=`),
 * `$11` metadata pairs every row must hold (`transfers_metadata_idx`, over the rows that have metadata).
 */
export const TRANSFER_LIST_SQL = `SELECT ${TRANSFER_COLUMNS} FROM transfers
  WHERE ($1::bigint IS NULL OR seq > $1::bigint)
    AND ($2::uuid IS NULL OR debit_account_id = $2 OR credit_account_id = $2)
    AND ($3::text IS NULL OR status = $3 OR ($3 = 'expired' AND status = 'pending' AND expires_at <= now()))
    AND ($3::text IS DISTINCT FROM 'pending' OR expires_at IS NULL OR expires_at > now())
    AND ($4::text IS NULL OR external_id = $4)
    AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
    AND ($8::text IS NULL OR ledger_id = (${ledgerByRef(8)})) AND ${inScope('ledger_id', 9)}
    AND ($10::text IS NULL OR created_by ->> 'id' = $10) AND ($11::jsonb IS NULL OR (metadata <> '{}' AND metadata @> $11::jsonb))
  ORDER BY seq LIMIT $7`;
