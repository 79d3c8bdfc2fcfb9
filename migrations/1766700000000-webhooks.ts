import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks (SPEC 13). A webhook's cursor (`after_seq`) is the seq of the last event it acknowledged: deliveries
 * go strictly in seq order, the next only after a 2xx to the one before. `failing_since`, `attempts` and
 * `next_attempt_at` carry the retries across restarts and instances. The secrets are kept as they are shown once
 * (HMAC needs them); the previous one signs too until `previous_secret_until`. Every attempt is a row of
 * `webhook_deliveries`.
 */
export class Webhooks1766700000000 implements MigrationInterface {
  name = 'Webhooks1766700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE webhooks (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      ledger_id uuid,
      url text NOT NULL,
      types text[] NOT NULL,
      description text,
      secret text NOT NULL,
      previous_secret text,
      previous_secret_until timestamp(3) with time zone,
      disabled boolean NOT NULL DEFAULT false,
      disabled_reason text,
      after_seq bigint NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      failing_since timestamp(3) with time zone,
      next_attempt_at timestamp(3) with time zone NOT NULL DEFAULT now(),
      deleted boolean NOT NULL DEFAULT false,
      created_by jsonb,
      created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
      updated_at timestamp(3) with time zone NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX webhooks_due_idx ON webhooks (next_attempt_at) WHERE NOT disabled AND NOT deleted`);
    await q.query(`CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL,
      webhook_id uuid NOT NULL,
      event_id uuid NOT NULL,
      event_seq bigint NOT NULL,
      attempted_at timestamp(3) with time zone NOT NULL,
      status_code integer,
      duration_ms integer NOT NULL,
      error text)`);
    await q.query(`CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries, webhooks`);
  }
}
