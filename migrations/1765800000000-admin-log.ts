import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The administrative log (SPEC 10): every change that is not a ledger entry, and every refused login, chained
 * by hash. Append-only like the journal: triggers refuse UPDATE, DELETE and TRUNCATE, and an insert must
 * continue the chain (next `seq`, `prev_hash` the hash before it), so a bug cannot fork or hole it either; the
 * hashes themselves are computed by the service (RFC 8785 canonical JSON) and rechecked by verify.
 * Users also get `password_changed_at`, so a password change shows in the log without the password.
 */
export class AdminLog1765800000000 implements MigrationInterface {
  name = 'AdminLog1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "admin_log" (
      "seq" bigint NOT NULL,
      "id" uuid NOT NULL,
      "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "actor" jsonb NOT NULL,
      "action" text NOT NULL,
      "resource_type" text NOT NULL,
      "resource_id" text NOT NULL,
      "ledger_id" uuid,
      "before" jsonb,
      "after" jsonb,
      "request_id" text NOT NULL,
      "prev_hash" text NOT NULL,
      "hash" text NOT NULL,
      CONSTRAINT "admin_log_id_key" UNIQUE ("id"),
      CONSTRAINT "admin_log_resource_type_check" CHECK (resource_type IN
        ('user', 'apiKey', 'account', 'ledger', 'category', 'webhook', 'monitor', 'login')),
      CONSTRAINT "admin_log_action_check" CHECK (action = resource_type || '.' || split_part(action, '.', 2)
        AND split_part(action, '.', 2) IN ('created', 'updated', 'revoked', 'deleted', 'closed', 'refused', 'rateLimited')),
      CONSTRAINT "admin_log_hash_check" CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$'),
      CONSTRAINT "PK_admin_log" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "admin_log_ledger_seq_idx" ON "admin_log" ("ledger_id", "seq")`);
    await q.query(`CREATE INDEX "admin_log_resource_seq_idx" ON "admin_log" ("resource_type", "resource_id", "seq")`);
    await q.query(`CREATE INDEX "admin_log_action_seq_idx" ON "admin_log" ("action", "seq")`);
    await q.query(`CREATE INDEX "admin_log_at_idx" ON "admin_log" ("at")`);
    await q.query(`CREATE INDEX "admin_log_actor_seq_idx" ON "admin_log" ((actor ->> 'id'), "seq")`);
    await q.query(`CREATE FUNCTION admin_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the administrative log is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`CREATE TRIGGER admin_log_no_update_delete BEFORE UPDATE OR DELETE ON admin_log
      FOR EACH ROW EXECUTE FUNCTION admin_log_append_only()`);
    await q.query(`CREATE TRIGGER admin_log_no_truncate BEFORE TRUNCATE ON admin_log
      FOR EACH STATEMENT EXECUTE FUNCTION admin_log_append_only()`);
    // Rows inserted earlier by the same statement are visible here, so a multi-row append is checked link by link.
    await q.query(`CREATE FUNCTION admin_log_continues_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE previous text;
      BEGIN
        IF NEW.seq = 1 THEN
          previous := repeat('0', 64);
        ELSE
          SELECT hash INTO previous FROM admin_log WHERE seq = NEW.seq - 1;
        END IF;
        IF previous IS NULL OR previous <> NEW.prev_hash THEN
          RAISE EXCEPTION 'administrative log record % does not continue the chain', NEW.seq
            USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER admin_log_chain BEFORE INSERT ON admin_log
      FOR EACH ROW EXECUTE FUNCTION admin_log_continues_chain()`);
    await q.query(`ALTER TABLE "users" ADD "password_changed_at" TIMESTAMP(3) WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "password_changed_at"`);
    await q.query(`DROP TABLE "admin_log"`);
    await q.query(`DROP FUNCTION admin_log_continues_chain()`);
    await q.query(`DROP FUNCTION admin_log_append_only()`);
  }
}
