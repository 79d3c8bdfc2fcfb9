import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { normalBalanceOf } from '../core/account-types.js';
import { LedgerError } from '../core/errors.js';
import type {
  BalanceAsOfView,
  BalanceQuery,
  EntryListQuery,
  EntryView,
  StatementView,
} from '../entries/entries.dto.js';
import { EntriesService } from '../entries/entries.service.js';
import { assertAccountChange } from '../core/transfer-rules.js';
import type { Outcome } from '../writes/idempotency.js';
import type { Change } from '../admin-log/admin-log-chain.js';
import type { UseCase } from '../writes/group.js';
import type { Tx } from '../writes/serializable.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { ACCOUNT_COLUMNS, type AccountRow, accountView, stateOf } from './account-rows.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { LedgerLookup } from '../ledgers/ledger-lookup.js';
import { findLedgerIn, inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import type { AccountListQuery, AccountView, CreateAccountDto, UpdateAccountDto } from './accounts.dto.js';

@Injectable()
export class AccountsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    private readonly entryReads: EntriesService,
    private readonly lookup: LedgerLookup,
  ) {}

  async balance(id: string, q: BalanceQuery, scope: LedgerScope): Promise<BalanceAsOfView> {
    const asOf = q.asOf === undefined ? new Date() : new Date(q.asOf);
    const knownAt = q.knownAt === undefined ? undefined : new Date(q.knownAt);
    return this.entryReads.balanceAsOf(await this.find(id, scope), asOf, knownAt);
  }

  async statement(id: string, from: Date, to: Date, scope: LedgerScope): Promise<StatementView> {
    return this.entryReads.statement(await this.find(id, scope), from, to);
  }

  async entries(id: string, q: EntryListQuery, scope: LedgerScope): Promise<Page<EntryView>> {
    return this.entryReads.accountEntries(await this.find(id, scope), q);
  }

  async create(dto: CreateAccountDto, w: WriteRequest): Promise<Outcome<AccountView>> {
    const ref = dto.ledgerId ?? w.scope.implicitLedger ?? 'default';
    const run: UseCase<AccountView> = (tx, log) => createAccount(tx, log, dto, ref, w);
    const outcome = await this.writes.submit(w, { run, logged: true }, await this.lookup.ofRef(ref));
    // Its first transfers are routed without a lookup.
    if ('value' in outcome) this.lookup.rememberAccount(outcome.value.id, outcome.value.ledgerId);
    return outcome;
  }

  async list(q: AccountListQuery, scope: LedgerScope): Promise<Page<AccountView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<AccountRow[]>(ACCOUNT_LIST_SQL, [
      after,
      q.currency ?? null,
      q.status ?? null,
      q.externalId ?? null,
      q.limit + 1,
      q.ledgerId ?? null,
      scope.ids,
      q.createdBy ?? null,
      q.metadata === undefined ? null : JSON.stringify(q.metadata),
    ]);
    return toPage(rows, q.limit, accountView, (r) => [r.seq]);
  }

  async get(id: string, scope: LedgerScope): Promise<AccountView> {
    return accountView(await this.find(id, scope));
  }

  private async find(id: string, scope: LedgerScope): Promise<AccountRow> {
    const [row] = await this.db.query<AccountRow[]>(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
      [id, scope.ids],
    );
    if (row === undefined) throw new LedgerError('NOT_FOUND', `account ${id} does not exist`);
    return row;
  }

  /** Status changes race with transfers, so they take the same write entrance and lock the row. */
  async update(id: string, dto: UpdateAccountDto, w: WriteRequest): Promise<Outcome<AccountView>> {
    const run: UseCase<AccountView> = (tx, log) => updateAccount(tx, log, id, dto, w.scope);
    return this.writes.submit(w, { run, logged: true }, await this.lookup.ofAccount(id));
  }
}

async function createAccount(
  tx: Tx,
  log: (change: Change) => void,
  dto: CreateAccountDto,
  ref: string,
  w: WriteRequest,
): Promise<AccountView> {
  const ledger = await findLedgerIn(tx, ref);
  // A ledger outside the caller's is refused as one that does not exist.
  if (ledger === undefined || !w.scope.sees(ledger.id)) {
    throw new LedgerError('LEDGER_NOT_FOUND', `ledger ${ref} does not exist`);
  }
  if (dto.externalId !== undefined) await assertExternalIdFree(tx, ledger.id, dto.externalId);
  const [row] = await tx.query<AccountRow>(
    `INSERT INTO accounts (id, ledger_id, currency, normal_balance, allow_negative, name, external_id, metadata, created_by,
       type)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${ACCOUNT_COLUMNS}`,
    [
      randomUUID(),
      ledger.id,
      dto.currency,
      // The DTO holds one or the other, and both agree when both are given.
      dto.normalBalance ?? normalBalanceOf(dto.type!),
      dto.allowNegative ?? false,
      dto.name ?? null,
      dto.externalId ?? null,
      JSON.stringify(dto.metadata ?? {}),
      JSON.stringify(w.actor),
      dto.type ?? null,
    ],
  );
  const after = accountView(row!);
  log({ action: 'account.created', resourceId: after.id, ledgerId: after.ledgerId, before: null, after });
  return after;
}

async function updateAccount(
  tx: Tx,
  log: (change: Change) => void,
  id: string,
  dto: UpdateAccountDto,
  scope: LedgerScope,
): Promise<AccountView> {
  // The whole row, locked: the log records the account as it was.
  const [row] = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE`, [id]);
  if (row === undefined || !scope.sees(row.ledger_id))
    throw new LedgerError('NOT_FOUND', `account ${id} does not exist`);
  assertAccountChange(stateOf(row), dto.status);
  const [updated] = await tx.query<AccountRow>(
    `UPDATE accounts SET status = COALESCE($2, status), name = COALESCE($3, name),
           metadata = COALESCE($4::jsonb, metadata), updated_at = now()
         WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`,
    [id, dto.status ?? null, dto.name ?? null, dto.metadata === undefined ? null : JSON.stringify(dto.metadata)],
  );
  const after = accountView(updated!);
  log({ action: 'account.updated', resourceId: id, ledgerId: row.ledger_id, before: accountView(row), after });
  return after;
}

/**
 * An account's externalId is unique in its ledger; checked first so the refusal is a 409, not a constraint error.
 * One probe of the key `accounts_external_id_key` (ledger_id, external_id), seeking the first key at or after the
 * pair: the plain equality could be answered from `accounts_external_id_idx` (every ledger's ids mixed), whose
 * pages other ledgers' account creations then conflict on; this row comparison in key order only the key serves.
 */
export const ACCOUNT_EXTERNAL_ID_SQL = `SELECT 1 FROM (
    SELECT ledger_id, external_id FROM accounts WHERE (ledger_id, external_id) >= ($1::uuid, $2::text)
    ORDER BY ledger_id, external_id LIMIT 1) k
  WHERE ledger_id = $1 AND external_id = $2`;

async function assertExternalIdFree(tx: Tx, ledgerId: string, externalId: string): Promise<void> {
  const taken = await tx.query(ACCOUNT_EXTERNAL_ID_SQL, [ledgerId, externalId]);
  if (taken.length > 0) {
    throw new LedgerError('DUPLICATE_EXTERNAL_ID', `externalId ${externalId} is already used by another account`);
  }
}

/** A page of accounts in `seq` order; every filter is optional (null), `$8` the creator's id (`?createdBy=`), `$9`
 * the metadata pairs every row must hold (`?metadata[k]=v`). */
export const ACCOUNT_LIST_SQL = `SELECT ${ACCOUNT_COLUMNS} FROM accounts
  WHERE ($1::bigint IS NULL OR seq > $1::bigint) AND ($2::text IS NULL OR currency = $2)
    AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR external_id = $4)
    AND ($6::text IS NULL OR ledger_id = (${ledgerByRef(6)})) AND ${inScope('ledger_id', 7)}
    AND ($8::text IS NULL OR created_by ->> 'id' = $8) AND ($9::jsonb IS NULL OR metadata @> $9::jsonb)
  ORDER BY seq LIMIT $5`;
