import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox of SPEC 13 (invariant 11): one row per committed change a caller could observe, written by the write
 * entrance in the transaction of the change. Append-only, like the journal, and read the same way: in `seq`
 * order, never past the horizon below which nothing can still commit. No unique index on `id` (a random UUID):
 * one index fewer on the hot path.
 */
export class Events1766600000000 implements MigrationInterface {
  name = 'Events1766600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE events (
      seq bigserial PRIMARY KEY,
      id uuid NOT NULL,
      type text NOT NULL,
      ledger_id uuid NOT NULL,
      occurred_at timestamp(3) with time zone NOT NULL,
      data jsonb NOT NULL)`);
    await q.query(`CREATE INDEX events_ledger_seq_idx ON events (ledger_id, seq)`);
    await q.query(`CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_append_only()`);
    await q.query(`CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE events`);
    await q.query(`DROP FUNCTION events_append_only()`);
  }
}
