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
import type { CloseLedgerDto, CreateLedgerDto, LedgerView, UpdateLedgerDto } from './ledgers.dto.js';
import { CheckpointSigner } from '../checkpoints/checkpoint-signer.js';
import { signTrees } from '../checkpoints/checkpoint-rows.js';
import { TreeBuilder } from '../checkpoints/tree-builder.js';

@Injectable()
export class LedgersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    private readonly trees: TreeBuilder,
    private readonly signer: CheckpointSigner,
  ) {}

  /**
   * Closes the books up to `until` (SPEC 12), logged, and checkpointed (SPEC 14) in the same transaction: the trees
   * are first brought up to the journal's horizon, so the checkpoint holds every entry recorded before the close.
   */
  async close(idOrName: string, dto: CloseLedgerDto, w: WriteRequest): Promise<Outcome<LedgerView>> {
    await this.trees.extend(true);
    const ledgerId = (await findLedger((t, v) => this.db.query<LedgerRow[]>(t, v), idOrName))?.id;
    return this.writes.submit(
      w,
      {
        logged: true,
        run: async (tx, log) => {
          const ledger = await findLedgerIn(tx, idOrName);
          if (ledger === undefined || !w.scope.sees(ledger.id)) {
            throw new LedgerError('NOT_FOUND', `ledger ${idOrName} does not exist`);
          }
          const [when] = await tx.query<{ future: boolean }>(`SELECT $1::timestamptz > now() AS future`, [dto.until]);
          if (when!.future) throw new LedgerError('INVALID_PERIOD', `${dto.until} is in the future`);
          if (ledger.closed_until !== null && new Date(dto.until) <= ledger.closed_until) {
            throw new LedgerError(
              'INVALID_PERIOD',
              `the books of ${ledger.name} are closed until ${ledger.closed_until.toISOString()} already`,
            );
          }
          const [row] = await tx.query<LedgerRow>(
            `UPDATE ledgers SET closed_until = $2, updated_at = now() WHERE id = $1 RETURNING ${LEDGER_COLUMNS}`,
            [ledger.id, dto.until],
          );
          const [before, after] = [ledgerView(ledger), ledgerView(row!)];
          log({ action: 'ledger.closed', resourceId: ledger.id, ledgerId: ledger.id, before, after });
          // The trees' lock, as the builder takes it: the tree signed is the one the close saw.
          await tx.query('SELECT 1 FROM merkle_progress FOR UPDATE');
          await signTrees((text, values) => tx.query(text, values), this.signer, [ledger.id]);
          return after;
        },
      },
      ledgerId,
    );
  }

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
