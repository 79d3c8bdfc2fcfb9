import { randomBytes } from 'node:crypto';
import type { EventType } from '../events/event-rows.js';
import type { Actor } from '../writes/write-request.js';
import type { DeliveryView, WebhookView } from './webhooks.dto.js';

export interface WebhookRow {
  id: string;
  seq: string;
  ledger_id: string | null;
  url: string;
  types: EventType[];
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  disabled: boolean;
  disabled_reason: string | null;
  after_seq: string;
  attempts: number;
  failing_since: Date | null;
  next_attempt_at: Date;
  created_by: Actor | null;
  created_at: Date;
  updated_at: Date;
}

export const WEBHOOK_COLUMNS = `id, seq, ledger_id, url, types, description, secret, previous_secret, previous_secret_until,
  disabled, disabled_reason, after_seq, attempts, failing_since, next_attempt_at, created_by, created_at, updated_at`;

/** What the API shows of a webhook: never its secrets. */
export function webhookView(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    types: row.types,
    ledgerId: row.ledger_id,
    description: row.description,
    disabled: row.disabled,
    disabledReason: row.disabled_reason,
    deliveredThrough: row.after_seq,
    failingSince: row.failing_since?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** `whsec_` and 32 random bytes in base64 (Standard Webhooks' form). */
export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export interface DeliveryRow {
  id: string;
  seq: string;
  event_id: string;
  event_seq: string;
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

export function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    eventId: row.event_id,
    eventSeq: row.event_seq,
    attemptedAt: row.attempted_at.toISOString(),
    statusCode: row.status_code,
    durationMs: row.duration_ms,
    error: row.error,
  };
}
