import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Effective dates and closed periods (SPEC 12, invariant 12).
 *
 * A movement may be dated in the books before it is recorded. Its entries then carry `effective_at`; an entry
 * dated when it is written keeps NULL there (so the hot path writes nothing new, and every older entry is already
 * right). The running counters on entries stay in recorded order. A balance as of an instant A is those counters
 * at A, plus the backdated entries that count by A but were recorded after it. `backdated_totals` keeps what that
 * needs in a few rows: the sums of backdated entries per account and UTC day, once by the day they count
 * (`effective`) and once by the day they were recorded (`recorded`). Σ effective by A − Σ recorded by A is exactly
 * the entries dated by A and recorded after A. A trigger keeps them in the writing transaction, for backdated
 * entries only.
 *
 * A ledger's `closed_until` only moves forward. An entry dated before it is refused by a statement trigger, the
 * last guard behind the write path's own PERIOD_CLOSED. Transfers and transactions keep their own effective date,
 * so a pending one is posted on the date it was given, and that date never changes.
 */
export class EffectiveDates1766500000000 implements MigrationInterface {
  name = 'EffectiveDates1766500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger_entries ADD COLUMN effective_at timestamp(3) with time zone`);
    await q.query(`ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_effective_at_check
      CHECK (${EFFECTIVE_AT_CHECK})`);
    await q.query(`ALTER TABLE transfers ADD COLUMN effective_at timestamp(3) with time zone`);
    await q.query(`ALTER TABLE transactions ADD COLUMN effective_at timestamp(3) with time zone`);
    await q.query(`CREATE INDEX ledger_entries_backdated_effective_idx ON ledger_entries (account_id, effective_at)
      WHERE effective_at IS NOT NULL`);
    await q.query(`CREATE INDEX ledger_entries_backdated_created_idx ON ledger_entries (account_id, created_at)
      WHERE effective_at IS NOT NULL`);

    await q.query(`CREATE TABLE backdated_totals (
      account_id uuid NOT NULL,
      axis text NOT NULL CHECK (axis IN ('effective', 'recorded')),
      day date NOT NULL,
      debits bigint NOT NULL,
      credits bigint NOT NULL,
      entries bigint NOT NULL,
      PRIMARY KEY (account_id, axis, day))`);
    await q.query(`CREATE FUNCTION backdated_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        d bigint := CASE WHEN NEW.direction = 'debit' THEN NEW.amount ELSE 0 END;
        c bigint := CASE WHEN NEW.direction = 'credit' THEN NEW.amount ELSE 0 END;
      BEGIN
        INSERT INTO backdated_totals AS t (account_id, axis, day, debits, credits, entries) VALUES
          (NEW.account_id, 'effective', (NEW.effective_at AT TIME ZONE 'UTC')::date, d, c, 1),
          (NEW.account_id, 'recorded', (NEW.created_at AT TIME ZONE 'UTC')::date, d, c, 1)
        ON CONFLICT (account_id, axis, day) DO UPDATE
          SET debits = t.debits + EXCLUDED.debits, credits = t.credits + EXCLUDED.credits,
              entries = t.entries + EXCLUDED.entries;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER ledger_entries_backdated_totals AFTER INSERT ON ledger_entries
      FOR EACH ROW WHEN (NEW.effective_at IS NOT NULL) EXECUTE FUNCTION backdated_totals_add()`);

    // One probe of ledgers per ledger of the statement (a group writes a few), not per entry.
    await q.query(`CREATE FUNCTION ledger_entries_period_check() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (
          SELECT FROM (SELECT ledger_id, min(coalesce(effective_at, created_at)) AS dated FROM new_rows GROUP BY ledger_id) n
          WHERE n.dated < (SELECT l.closed_until FROM ledgers l WHERE l.id = n.ledger_id)) THEN
          RAISE EXCEPTION 'PERIOD_CLOSED: a new ledger entry is dated before its ledger''s closed_until'
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER ledger_entries_period AFTER INSERT ON ledger_entries
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_period_check()`);

    await q.query(`CREATE FUNCTION effective_at_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the effective date of % % never changes', TG_TABLE_NAME, OLD.id USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['transfers', 'transactions']) {
      await q.query(`CREATE TRIGGER ${table}_effective_at_guard BEFORE UPDATE OF effective_at ON ${table}
        FOR EACH ROW WHEN (NEW.effective_at IS DISTINCT FROM OLD.effective_at) EXECUTE FUNCTION effective_at_guard()`);
    }
    await q.query(`CREATE FUNCTION ledgers_closed_until_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the books of ledger % are closed until %: a close is never undone', OLD.name, OLD.closed_until
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`CREATE TRIGGER ledgers_closed_until_guard BEFORE UPDATE OF closed_until ON ledgers
      FOR EACH ROW WHEN (OLD.closed_until IS NOT NULL
        AND (NEW.closed_until IS NULL OR NEW.closed_until < OLD.closed_until))
      EXECUTE FUNCTION ledgers_closed_until_guard()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER ledgers_closed_until_guard ON ledgers`);
    await q.query(`DROP FUNCTION ledgers_closed_until_guard()`);
    for (const table of ['transfers', 'transactions']) {
      await q.query(`DROP TRIGGER ${table}_effective_at_guard ON ${table}`);
    }
    await q.query(`DROP FUNCTION effective_at_guard()`);
    await q.query(`DROP TRIGGER ledger_entries_period ON ledger_entries`);
    await q.query(`DROP FUNCTION ledger_entries_period_check()`);
    await q.query(`DROP TRIGGER ledger_entries_backdated_totals ON ledger_entries`);
    await q.query(`DROP FUNCTION backdated_totals_add()`);
    await q.query(`DROP TABLE backdated_totals`);
    await q.query(`DROP INDEX ledger_entries_backdated_created_idx, ledger_entries_backdated_effective_idx`);
    await q.query(`ALTER TABLE transactions DROP COLUMN effective_at`);
    await q.query(`ALTER TABLE transfers DROP COLUMN effective_at`);
    await q.query(`ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_effective_at_check`);
    await q.query(`ALTER TABLE ledger_entries DROP COLUMN effective_at`);
  }
}

/** An entry is dated strictly before it was recorded, or carries no date of its own (dated then). */
export const EFFECTIVE_AT_CHECK = `effective_at < created_at`;
