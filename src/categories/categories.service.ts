import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Change } from '../admin-log/admin-log-chain.js';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { countersAt } from '../entries/entry-rows.js';
import { LedgerLookup } from '../ledgers/ledger-lookup.js';
import { findLedgerIn, inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import type { Outcome } from '../writes/idempotency.js';
import type { Tx } from '../writes/serializable.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import type {
  CategoryBalanceView,
  CategoryListQuery,
  CategoryView,
  CreateCategoryDto,
  UpdateCategoryDto,
} from './categories.dto.js';

interface CategoryRow {
  id: string;
  seq: string;
  ledger_id: string;
  name: string;
  normal_balance: 'debit' | 'credit';
  parent_id: string | null;
  account_ids: string[];
  created_by: CategoryView['createdBy'];
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `c.id, c.seq, c.ledger_id, c.name, c.normal_balance, c.parent_id, c.created_by, c.created_at, c.updated_at,
  coalesce((SELECT array_agg(m.account_id ORDER BY m.account_id) FROM category_accounts m WHERE m.category_id = c.id),
           '{}') AS account_ids`;

function view(row: CategoryRow): CategoryView {
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    name: row.name,
    normalBalance: row.normal_balance,
    parentId: row.parent_id,
    accountIds: row.account_ids,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

type Log = (change: Change) => void;

/** Categories (SPEC 12): every change through the write entrance, in the ledger's lane, logged. */
@Injectable()
export class CategoriesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    private readonly lookup: LedgerLookup,
  ) {}

  async create(dto: CreateCategoryDto, w: WriteRequest): Promise<Outcome<CategoryView>> {
    const ref = dto.ledgerId ?? w.scope.implicitLedger ?? 'default';
    return this.writes.submit(
      w,
      { run: (tx, log) => createCategory(tx, log, dto, ref, w), logged: true },
      await this.lookup.ofRef(ref),
    );
  }

  async update(id: string, dto: UpdateCategoryDto, w: WriteRequest): Promise<Outcome<CategoryView>> {
    return this.writes.submit(
      w,
      {
        logged: true,
        run: async (tx, log) => {
          const before = await lockCategory(tx, id, w.scope);
          if (dto.parentId !== undefined && dto.parentId !== null)
            await assertParent(tx, before, dto.parentId, w.scope);
          const [row] = await tx.query<CategoryRow>(
            `UPDATE categories c SET name = coalesce($2, name),
               parent_id = CASE WHEN $3::boolean THEN $4::uuid ELSE parent_id END, updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
            [id, dto.name ?? null, dto.parentId !== undefined, dto.parentId ?? null],
          );
          const after = view(row!);
          log({ action: 'category.updated', resourceId: id, ledgerId: after.ledgerId, before: view(before), after });
          return after;
        },
      },
      await this.laneOf(id),
    );
  }

  /** Adds (`member`) or removes an account; a change that changes nothing writes nothing, and answers 204 alike. */
  async membership(id: string, accountId: string, member: boolean, w: WriteRequest): Promise<Outcome<null>> {
    return this.writes.submit(
      w,
      {
        logged: true,
        run: async (tx, log) => {
          const before = await lockCategory(tx, id, w.scope);
          const [account] = await tx.query<{ ledger_id: string }>(
            `SELECT ledger_id FROM accounts WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
            [accountId, w.scope.ids],
          );
          if (account === undefined) throw new LedgerError('NOT_FOUND', `account ${accountId} does not exist`);
          if (account.ledger_id !== before.ledger_id) {
            throw new LedgerError('LEDGER_MISMATCH', `account ${accountId} is not in the category's ledger`);
          }
          const changed = await tx.query(
            member
              ? `INSERT INTO category_accounts (category_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`
              : `DELETE FROM category_accounts WHERE category_id = $1 AND account_id = $2 RETURNING 1`,
            [id, accountId],
          );
          if (changed.length === 0) return null;
          const [row] = await tx.query<CategoryRow>(
            `UPDATE categories c SET updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
            [id],
          );
          const after = view(row!);
          log({ action: 'category.updated', resourceId: id, ledgerId: after.ledgerId, before: view(before), after });
          return null;
        },
      },
      await this.laneOf(id),
    );
  }

  async list(q: CategoryListQuery, scope: LedgerScope): Promise<Page<CategoryView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<CategoryRow[]>(
      `SELECT ${COLUMNS} FROM categories c
       WHERE ${inScope('c.ledger_id', 1)} AND ($2::text IS NULL OR c.ledger_id = (${ledgerByRef(2)}))
         AND ($3::bigint IS NULL OR c.seq > $3::bigint)
       ORDER BY c.seq LIMIT $4`,
      [scope.ids, q.ledgerId ?? null, after, q.limit + 1],
    );
    return toPage(rows, q.limit, view, (r) => [r.seq]);
  }

  async get(id: string, scope: LedgerScope): Promise<CategoryView> {
    return view(await findCategory((t, v) => this.db.query<CategoryRow[]>(t, v), id, scope));
  }

  /**
   * Per currency, the posted counters at `asOf` of every account in the category or a descendant, each account
   * counted once however many of those categories hold it, shown on the category's normal side.
   */
  async balance(id: string, asOf: Date, scope: LedgerScope): Promise<CategoryBalanceView> {
    const category = await findCategory((t, v) => this.db.query<CategoryRow[]>(t, v), id, scope);
    const rows = await this.db.query<{ currency: string; debits: string; credits: string }[]>(
      `WITH RECURSIVE tree AS (
         SELECT id FROM categories WHERE id = $1
         UNION SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id
       ), members AS (
         SELECT DISTINCT account_id FROM category_accounts WHERE category_id IN (SELECT id FROM tree)
       )
       SELECT a.currency, coalesce(sum(e.debits), 0)::text AS debits, coalesce(sum(e.credits), 0)::text AS credits
       FROM members m JOIN accounts a ON a.id = m.account_id
       LEFT JOIN LATERAL (${countersAt('a.id', '$2')}) e ON true
       GROUP BY a.currency ORDER BY a.currency`,
      [id, asOf],
    );
    return {
      categoryId: id,
      asOf: asOf.toISOString(),
      currencies: rows.map((r) => {
        const [d, c] = [BigInt(r.debits), BigInt(r.credits)];
        return {
          currency: r.currency,
          debitsPosted: r.debits,
          creditsPosted: r.credits,
          posted: String(category.normal_balance === 'debit' ? d - c : c - d),
        };
      }),
    };
  }

  /** The lane of the category's ledger; an unknown category queues in the shared lane, to be refused there. */
  private async laneOf(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ ledger_id: string }[]>(`SELECT ledger_id FROM categories WHERE id = $1`, [id]);
    return row?.ledger_id;
  }
}

async function createCategory(
  tx: Tx,
  log: Log,
  dto: CreateCategoryDto,
  ref: string,
  w: WriteRequest,
): Promise<CategoryView> {
  const ledger = await findLedgerIn(tx, ref);
  if (ledger === undefined || !w.scope.sees(ledger.id)) {
    throw new LedgerError('LEDGER_NOT_FOUND', `ledger ${ref} does not exist`);
  }
  const id = randomUUID();
  if (dto.parentId !== undefined) {
    await assertParent(tx, { id, ledger_id: ledger.id }, dto.parentId, w.scope);
  }
  const [row] = await tx.query<CategoryRow>(
    `INSERT INTO categories AS c (id, ledger_id, name, normal_balance, parent_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [id, ledger.id, dto.name, dto.normalBalance, dto.parentId ?? null, JSON.stringify(w.actor)],
  );
  const after = view(row!);
  log({ action: 'category.created', resourceId: id, ledgerId: ledger.id, before: null, after });
  return after;
}

async function findCategory(
  query: (text: string, values: unknown[]) => Promise<CategoryRow[]>,
  id: string,
  scope: LedgerScope,
  lock = '',
): Promise<CategoryRow> {
  const [row] = await query(
    `SELECT ${COLUMNS} FROM categories c WHERE c.id = $1 AND ${inScope('c.ledger_id', 2)} ${lock}`,
    [id, scope.ids],
  );
  if (row === undefined) throw new LedgerError('NOT_FOUND', `category ${id} does not exist`);
  return row;
}

const lockCategory = (tx: Tx, id: string, scope: LedgerScope): Promise<CategoryRow> =>
  findCategory((t, v) => tx.query<CategoryRow>(t, v), id, scope, 'FOR UPDATE OF c');

/**
 * A parent must be a category of the same ledger that is not the category itself nor below it: walking up from
 * the parent must never reach the category (SERIALIZABLE keeps two concurrent moves from closing a loop).
 */
async function assertParent(
  tx: Tx,
  category: Pick<CategoryRow, 'id' | 'ledger_id'>,
  parentId: string,
  scope: LedgerScope,
): Promise<void> {
  const [parent] = await tx.query<{ ledger_id: string }>(
    `SELECT ledger_id FROM categories WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
    [parentId, scope.ids],
  );
  if (parent === undefined) throw new LedgerError('NOT_FOUND', `parent category ${parentId} does not exist`);
  if (parent.ledger_id !== category.ledger_id) {
    throw new LedgerError('LEDGER_MISMATCH', `parent category ${parentId} is in another ledger`);
  }
  const loop = await tx.query(
    `WITH RECURSIVE up AS (
       SELECT id, parent_id FROM categories WHERE id = $1
       UNION SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id
     ) SELECT 1 FROM up WHERE id = $2`,
    [parentId, category.id],
  );
  if (loop.length > 0) {
    throw new LedgerError('CATEGORY_CYCLE', `category ${category.id} would be its own ancestor under ${parentId}`);
  }
}
