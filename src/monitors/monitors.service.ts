import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { AccountNotFound, LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { inScope } from '../ledgers/ledger-rows.js';
import type { Outcome } from '../writes/idempotency.js';
import type { Actor, WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import type { CreateMonitorDto, MonitorListQuery, MonitorView } from './monitors.dto.js';

interface MonitorRow {
  id: string;
  seq: string;
  account_id: string;
  ledger_id: string;
  balance: 'available' | 'posted';
  op: 'lt' | 'lte' | 'gt' | 'gte';
  amount: string;
  description: string | null;
  created_by: Actor | null;
  created_at: Date;
}

const COLUMNS = 'id, seq, account_id, ledger_id, balance, op, amount, description, created_by, created_at';

function view(row: MonitorRow): MonitorView {
  return {
    id: row.id,
    accountId: row.account_id,
    ledgerId: row.ledger_id,
    condition: { [row.balance]: { [row.op]: row.amount } },
    description: row.description,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * Balance monitors (SPEC 13): created and deleted through the write entrance, logged. They fire in the database
 * (`migrations/1766900000000-monitored-accounts.ts`), in the transaction of the write that turns them true.
 */
@Injectable()
export class MonitorsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
  ) {}

  create(dto: CreateMonitorDto, w: WriteRequest): Promise<Outcome<MonitorView>> {
    const [balance, bound] = Object.entries(dto.condition)[0]!;
    const [op, amount] = Object.entries(bound)[0]!;
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const [account] = await tx.query<{ ledger_id: string }>(
          `SELECT ledger_id FROM accounts WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
          [dto.accountId, w.scope.ids],
        );
        if (account === undefined) throw new AccountNotFound(dto.accountId);
        const [row] = await tx.query<MonitorRow>(
          `INSERT INTO balance_monitors (id, account_id, ledger_id, balance, op, amount, description, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
          [
            randomUUID(),
            dto.accountId,
            account.ledger_id,
            balance,
            op,
            amount,
            dto.description ?? null,
            JSON.stringify(w.actor),
          ],
        );
        const after = view(row!);
        log({ action: 'monitor.created', resourceId: row!.id, ledgerId: row!.ledger_id, before: null, after });
        return after;
      },
    });
  }

  async list(q: MonitorListQuery, scope: LedgerScope): Promise<Page<MonitorView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? '0';
    const rows = await this.db.query<MonitorRow[]>(
      `SELECT ${COLUMNS} FROM balance_monitors WHERE NOT deleted AND seq > $1 AND ($2::uuid IS NULL OR account_id = $2)
         AND ${inScope('ledger_id', 3)} ORDER BY seq LIMIT $4`,
      [after, q.accountId ?? null, scope.ids, q.limit + 1],
    );
    return toPage(rows, q.limit, view, (r) => [r.seq]);
  }

  async get(id: string, scope: LedgerScope): Promise<MonitorView> {
    const [row] = await this.db.query<MonitorRow[]>(
      `SELECT ${COLUMNS} FROM balance_monitors WHERE id = $1 AND NOT deleted AND ${inScope('ledger_id', 2)}`,
      [id, scope.ids],
    );
    if (row === undefined) throw new LedgerError('NOT_FOUND', `balance monitor ${id} does not exist`);
    return view(row);
  }

  remove(id: string, w: WriteRequest): Promise<Outcome<void>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const [row] = await tx.query<MonitorRow>(
          `UPDATE balance_monitors SET deleted = true WHERE id = $1 AND NOT deleted AND ${inScope('ledger_id', 2)}
           RETURNING ${COLUMNS}`,
          [id, w.scope.ids],
        );
        if (row === undefined) throw new LedgerError('NOT_FOUND', `balance monitor ${id} does not exist`);
        log({ action: 'monitor.deleted', resourceId: id, ledgerId: row.ledger_id, before: view(row), after: null });
      },
    });
  }
}
