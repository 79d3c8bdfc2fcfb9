import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, type PageQuery, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import type { Outcome } from '../writes/idempotency.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { findLedger, findLedgerIn, inScope, LEDGER_COLUMNS, type LedgerRow, ledgerView } from './ledger-rows.js';
import type { CreateLedgerDto, LedgerView, UpdateLedgerDto } from './ledgers.dto.js';

@Injectable()
export class LedgersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
  ) {}

  create(dto: CreateLedgerDto, w: WriteRequest): Promise<Outcome<LedgerView>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const [row] = await tx.query<LedgerRow>(
          `INSERT INTO ledgers (id, name, description, metadata, created_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (name) DO NOTHING RETURNING ${LEDGER_COLUMNS}`,
          [
            randomUUID(),
            dto.name,
            dto.description ?? null,
            JSON.stringify(dto.metadata ?? {}),
            JSON.stringify(w.actor),
          ],
        );
        if (row === undefined) throw new LedgerError('DUPLICATE_LEDGER_NAME', `a ledger named ${dto.name} exists`);
        log({ action: 'ledger.created', resourceId: row.id, ledgerId: row.id, before: null, after: ledgerView(row) });
        return ledgerView(row);
      },
    });
  }

  update(idOrName: string, dto: UpdateLedgerDto, w: WriteRequest): Promise<Outcome<LedgerView>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const ledger = await findLedgerIn(tx, idOrName);
        if (ledger === undefined || !w.scope.sees(ledger.id))
          throw new LedgerError('NOT_FOUND', `ledger ${idOrName} does not exist`);
        const [row] = await tx.query<LedgerRow>(
          `UPDATE ledgers SET description = COALESCE($2, description), metadata = COALESCE($3::jsonb, metadata),
             updated_at = now() WHERE id = $1 RETURNING ${LEDGER_COLUMNS}`,
          [ledger.id, dto.description ?? null, dto.metadata === undefined ? null : JSON.stringify(dto.metadata)],
        );
        const [before, after] = [ledgerView(ledger), ledgerView(row!)];
        log({ action: 'ledger.updated', resourceId: ledger.id, ledgerId: ledger.id, before, after });
        return after;
      },
    });
  }

  async list(q: PageQuery, scope: LedgerScope): Promise<Page<LedgerView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<LedgerRow[]>(
      `SELECT ${LEDGER_COLUMNS} FROM ledgers WHERE ($1::bigint IS NULL OR seq > $1::bigint) AND ${inScope('id', 3)}
       ORDER BY seq LIMIT $2`,
      [after, q.limit + 1, scope.ids],
    );
    return toPage(rows, q.limit, ledgerView, (r) => [r.seq]);
  }

  async get(idOrName: string, scope: LedgerScope): Promise<LedgerView> {
    const row = await findLedger((text, values) => this.db.query<LedgerRow[]>(text, values), idOrName);
    if (row === undefined || !scope.sees(row.id))
      throw new LedgerError('NOT_FOUND', `ledger ${idOrName} does not exist`);
    return ledgerView(row);
  }
}
