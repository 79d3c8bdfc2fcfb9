import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, type PageQuery, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { inScope, seenLedgerId } from '../ledgers/ledger-rows.js';
import type { Outcome } from '../writes/idempotency.js';
import type { Tx } from '../writes/serializable.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import {
  type DeliveryRow,
  deliveryView,
  newSecret,
  WEBHOOK_COLUMNS,
  type WebhookRow,
  webhookView,
} from './webhook-rows.js';
import type {
  CreateWebhookDto,
  DeliveryView,
  ReplayWebhookDto,
  SecretView,
  UpdateWebhookDto,
  WebhookView,
  WebhookWithSecretView,
} from './webhooks.dto.js';

/** How long a rotated-out secret still signs (SPEC 13). */
export const PREVIOUS_SECRET_HOURS = 24;

/**
 * Webhooks (SPEC 13): every change through the write entrance, logged (`webhook.*`, never with a secret). A
 * webhook of one ledger is seen by whoever sees that ledger; one of every ledger only by callers limited to none.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
  ) {}

  async create(dto: CreateWebhookDto, w: WriteRequest): Promise<Outcome<WebhookWithSecretView>> {
    // A caller limited to some ledgers subscribes to one of them, never to every ledger.
    const ref = dto.ledgerId ?? (w.scope.ids === null ? undefined : w.scope.implicitLedger);
    if (ref === undefined && w.scope.ids !== null) {
      throw new LedgerError('LEDGER_NOT_FOUND', 'name the ledger whose events the webhook receives');
    }
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const ledgerId = ref === undefined ? null : await seenLedgerId((t, v) => tx.query(t, v), ref, w.scope);
        const [row] = await tx.query<WebhookRow>(
          `INSERT INTO webhooks (id, ledger_id, url, types, description, secret, after_seq, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, (SELECT coalesce(max(seq), 0) FROM events), $7)
           RETURNING ${WEBHOOK_COLUMNS}`,
          [randomUUID(), ledgerId, dto.url, dto.types, dto.description ?? null, newSecret(), JSON.stringify(w.actor)],
        );
        const after = webhookView(row!);
        log({ action: 'webhook.created', resourceId: row!.id, ledgerId, before: null, after });
        return { ...after, secret: row!.secret };
      },
    });
  }

  async list(q: PageQuery, scope: LedgerScope): Promise<Page<WebhookView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? '0';
    const rows = await this.db.query<WebhookRow[]>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE NOT deleted AND seq > $1 AND ${visible(2)}
       ORDER BY seq LIMIT $3`,
      [after, scope.ids, q.limit + 1],
    );
    return toPage(rows, q.limit, webhookView, (r) => [r.seq]);
  }

  async get(id: string, scope: LedgerScope): Promise<WebhookView> {
    return webhookView(await findWebhook((t, v) => this.db.query<WebhookRow[]>(t, v), id, scope));
  }

  async deliveries(id: string, q: PageQuery, scope: LedgerScope): Promise<Page<DeliveryView>> {
    await findWebhook((t, v) => this.db.query<WebhookRow[]>(t, v), id, scope);
    const before = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<DeliveryRow[]>(
      `SELECT id, seq, event_id, event_seq, attempted_at, status_code, duration_ms, error FROM webhook_deliveries
       WHERE webhook_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint) ORDER BY seq DESC LIMIT $3`,
      [id, before, q.limit + 1],
    );
    return toPage(rows, q.limit, deliveryView, (r) => [r.seq]);
  }

  update(id: string, dto: UpdateWebhookDto, w: WriteRequest): Promise<Outcome<WebhookView>> {
    return this.change(id, w, 'webhook.updated', async (tx, row) => {
      const enabling = dto.disabled === false && row.disabled;
      const [next] = await tx.query<WebhookRow>(
        `UPDATE webhooks SET url = coalesce($2, url), types = coalesce($3, types), disabled = coalesce($4, disabled),
           disabled_reason = CASE WHEN $4 IS NULL THEN disabled_reason END,
           attempts = CASE WHEN $5 THEN 0 ELSE attempts END,
           failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END,
           next_attempt_at = CASE WHEN $5 THEN now() ELSE next_attempt_at END, updated_at = now()
         WHERE id = $1 RETURNING ${WEBHOOK_COLUMNS}`,
        [id, dto.url ?? null, dto.types ?? null, dto.disabled ?? null, enabling],
      );
      return next!;
    });
  }

  /** Stops delivering to it for good; answers nothing (204). */
  remove(id: string, w: WriteRequest): Promise<Outcome<void>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const row = await findWebhook((t, v) => tx.query<WebhookRow>(t, v), id, w.scope, true);
        await tx.query(`UPDATE webhooks SET deleted = true, updated_at = now() WHERE id = $1`, [id]);
        log({
          action: 'webhook.deleted',
          resourceId: id,
          ledgerId: row.ledger_id,
          before: webhookView(row),
          after: null,
        });
      },
    });
  }

  /** Delivers again, in order, every matching event after `after`; retries start afresh. */
  replay(id: string, dto: ReplayWebhookDto, w: WriteRequest): Promise<Outcome<WebhookView>> {
    return this.change(id, w, 'webhook.updated', async (tx) => {
      const [next] = await tx.query<WebhookRow>(
        `UPDATE webhooks SET after_seq = $2, attempts = 0, failing_since = NULL, next_attempt_at = now(),
           updated_at = now() WHERE id = $1 RETURNING ${WEBHOOK_COLUMNS}`,
        [id, dto.after],
      );
      return next!;
    });
  }

  /**
   * A new secret; the one before signs beside it for PREVIOUS_SECRET_HOURS, so receivers can switch over. A replay
   * (Idempotency-Key) answers the same secret: it is stored with the outcome, as the creation's is.
   */
  rotateSecret(id: string, w: WriteRequest): Promise<Outcome<SecretView>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const row = await findWebhook((t, v) => tx.query<WebhookRow>(t, v), id, w.scope, true);
        const [next] = await tx.query<WebhookRow>(
          `UPDATE webhooks SET previous_secret = secret, secret = $2,
             previous_secret_until = now() + make_interval(hours => ${PREVIOUS_SECRET_HOURS}), updated_at = now()
           WHERE id = $1 RETURNING ${WEBHOOK_COLUMNS}`,
          [id, newSecret()],
        );
        const [before, after] = [webhookView(row), webhookView(next!)];
        log({ action: 'webhook.updated', resourceId: id, ledgerId: row.ledger_id, before, after });
        return { secret: next!.secret };
      },
    });
  }

  private change(
    id: string,
    w: WriteRequest,
    action: 'webhook.updated',
    apply: (tx: Tx, row: WebhookRow) => Promise<WebhookRow>,
  ): Promise<Outcome<WebhookView>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const row = await findWebhook((t, v) => tx.query<WebhookRow>(t, v), id, w.scope, true);
        const next = await apply(tx, row);
        const [before, after] = [webhookView(row), webhookView(next)];
        log({ action, resourceId: id, ledgerId: row.ledger_id, before, after });
        return after;
      },
    });
  }
}

/** A webhook the caller may see: of one of its ledgers, or of every ledger for a caller limited to none. */
const visible = (n: number): string =>
  `(${inScope('ledger_id', n)} AND (ledger_id IS NOT NULL OR $${n}::uuid[] IS NULL))`;

async function findWebhook(
  query: (text: string, values: unknown[]) => Promise<WebhookRow[]>,
  id: string,
  scope: LedgerScope,
  lock = false,
): Promise<WebhookRow> {
  const [row] = await query(
    `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND NOT deleted AND ${visible(2)}${lock ? ' FOR UPDATE' : ''}`,
    [id, scope.ids],
  );
  if (row === undefined) throw new LedgerError('NOT_FOUND', `webhook ${id} does not exist`);
  return row;
}
