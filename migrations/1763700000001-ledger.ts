import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts, transfers and the journal. The tables come from the entities (the drift test keeps them equal);
 * the triggers below are the database's own defence of the ledger's invariants, so that a bug in the
 * service fails a statement instead of corrupting history.
 */
export class Ledger1763700000001 implements MigrationInterface {
  name = 'Ledger1763700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "accounts" ("id" uuid NOT NULL, "seq" BIGSERIAL NOT NULL, "currency" text NOT NULL, "normal_balance" text NOT NULL, "allow_negative" boolean NOT NULL DEFAULT false, "status" text NOT NULL DEFAULT 'active', "name" text, "external_id" text, "metadata" jsonb NOT NULL DEFAULT '{}', "debits_posted" bigint NOT NULL DEFAULT '0', "credits_posted" bigint NOT NULL DEFAULT '0', "debits_pending" bigint NOT NULL DEFAULT '0', "credits_pending" bigint NOT NULL DEFAULT '0', "version" bigint NOT NULL DEFAULT '0', "last_hash" text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000', "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_35fbbfc9bed700da62ed238c3f6" UNIQUE ("seq"), CONSTRAINT "UQ_ee32a4964f6c324a71536a89159" UNIQUE ("external_id"), CONSTRAINT "accounts_closed_check" CHECK (status <> 'closed' OR (debits_posted = credits_posted AND debits_pending = 0 AND credits_pending = 0)), CONSTRAINT "accounts_available_check" CHECK (allow_negative OR (CASE WHEN normal_balance = 'credit'
     THEN credits_posted::numeric - debits_posted - debits_pending
     ELSE debits_posted::numeric - credits_posted - credits_pending END) >= 0), CONSTRAINT "accounts_counters_check" CHECK (debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0 AND version >= 0), CONSTRAINT "accounts_status_check" CHECK (status IN ('active', 'frozen', 'closed')), CONSTRAINT "accounts_normal_balance_check" CHECK (normal_balance IN ('debit', 'credit')), CONSTRAINT "accounts_currency_check" CHECK (currency ~ '^[A-Z][A-Z0-9_]{2,15}$'), CONSTRAINT "PK_5a7a02c20412299d198e097a8fe" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "accounts_status_seq_idx" ON "accounts"  ("status", "seq") `);
    await q.query(`CREATE INDEX "accounts_currency_seq_idx" ON "accounts"  ("currency", "seq") `);
    await q.query(
      `CREATE TABLE "transfers" ("id" uuid NOT NULL, "seq" BIGSERIAL NOT NULL, "debit_account_id" uuid NOT NULL, "credit_account_id" uuid NOT NULL, "amount" bigint NOT NULL, "currency" text NOT NULL, "status" text NOT NULL, "posted_amount" bigint NOT NULL DEFAULT '0', "reversed_amount" bigint NOT NULL DEFAULT '0', "description" text, "external_id" text, "metadata" jsonb NOT NULL DEFAULT '{}', "batch_id" uuid, "reversal_of" uuid, "expires_at" TIMESTAMP(3) WITH TIME ZONE, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "posted_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "UQ_ca4f0692f41c320ae7e668152c0" UNIQUE ("seq"), CONSTRAINT "UQ_bfef4049c79a4a191fcfe6ea123" UNIQUE ("external_id"), CONSTRAINT "transfers_posted_check" CHECK ((status = 'posted') = (posted_at IS NOT NULL)), CONSTRAINT "transfers_amounts_check" CHECK (posted_amount >= 0 AND posted_amount <= amount AND reversed_amount >= 0 AND reversed_amount <= posted_amount), CONSTRAINT "transfers_status_check" CHECK (status IN ('pending', 'posted', 'voided', 'expired')), CONSTRAINT "transfers_accounts_check" CHECK (debit_account_id <> credit_account_id), CONSTRAINT "transfers_amount_check" CHECK (amount > 0), CONSTRAINT "PK_f712e908b465e0085b4408cabc3" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "transfers_pending_expiry_idx" ON "transfers"  ("expires_at") WHERE status = 'pending' AND expires_at IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "transfers_reversal_of_idx" ON "transfers"  ("reversal_of") `);
    await q.query(`CREATE INDEX "transfers_batch_idx" ON "transfers"  ("batch_id") `);
    await q.query(`CREATE INDEX "transfers_created_at_idx" ON "transfers"  ("created_at") `);
    await q.query(`CREATE INDEX "transfers_status_seq_idx" ON "transfers"  ("status", "seq") `);
    await q.query(`CREATE INDEX "transfers_credit_account_seq_idx" ON "transfers"  ("credit_account_id", "seq") `);
    await q.query(`CREATE INDEX "transfers_debit_account_seq_idx" ON "transfers"  ("debit_account_id", "seq") `);
    await q.query(
      `CREATE TABLE "ledger_entries" ("seq" BIGSERIAL NOT NULL, "id" uuid NOT NULL, "transfer_id" uuid NOT NULL, "account_id" uuid NOT NULL, "currency" text NOT NULL, "direction" text NOT NULL, "amount" bigint NOT NULL, "account_version" bigint NOT NULL, "balance_after" bigint NOT NULL, "debits_after" bigint NOT NULL, "credits_after" bigint NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "prev_hash" text NOT NULL, "hash" text NOT NULL, CONSTRAINT "UQ_6efcb84411d3f08b08450ae75d5" UNIQUE ("id"), CONSTRAINT "ledger_entries_account_version_key" UNIQUE ("account_id", "account_version"), CONSTRAINT "ledger_entries_version_check" CHECK (account_version >= 1), CONSTRAINT "ledger_entries_direction_check" CHECK (direction IN ('debit', 'credit')), CONSTRAINT "ledger_entries_amount_check" CHECK (amount > 0), CONSTRAINT "PK_7c28bbc465af6958ac83a17db40" PRIMARY KEY ("seq"))`,
    );
    await q.query(`CREATE INDEX "ledger_entries_created_at_idx" ON "ledger_entries"  ("created_at") `);
    await q.query(`CREATE INDEX "ledger_entries_currency_seq_idx" ON "ledger_entries"  ("currency", "seq") `);
    await q.query(
      `CREATE INDEX "ledger_entries_account_created_idx" ON "ledger_entries"  ("account_id", "created_at") `,
    );
    await q.query(`CREATE INDEX "ledger_entries_transfer_idx" ON "ledger_entries"  ("transfer_id") `);
    await q.query(
      `ALTER TABLE "transfers" ADD CONSTRAINT "transfers_debit_account_fkey" FOREIGN KEY ("debit_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "transfers" ADD CONSTRAINT "transfers_credit_account_fkey" FOREIGN KEY ("credit_account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "transfers" ADD CONSTRAINT "transfers_reversal_of_fkey" FOREIGN KEY ("reversal_of") REFERENCES "transfers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transfer_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );

    // SERIALIZABLE keeps SIREAD locks per tuple until a transaction holds more than max_pred_locks_per_page of
    // them on one page, then per page. Few accounts per page keep the locks per tuple and leave room for HOT
    // updates (no index insert), so writers on different accounts do not look like conflicts to each other.
    await q.query(`ALTER TABLE accounts SET (fillfactor = 10)`);

    // The journal is append-only.
    await q.query(`CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()`);
    await q.query(`CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
      FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()`);

    // A transfer's parties, amount and currency never change; its status only moves forward
    // (pending -> posted | voided | expired); posted_amount is set once, reversed_amount only grows.
    await q.query(`CREATE FUNCTION transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'transfers are never deleted' USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq OR NEW.debit_account_id <> OLD.debit_account_id
           OR NEW.credit_account_id <> OLD.credit_account_id OR NEW.amount <> OLD.amount
           OR NEW.currency <> OLD.currency OR NEW.created_at <> OLD.created_at
           OR NEW.batch_id IS DISTINCT FROM OLD.batch_id OR NEW.reversal_of IS DISTINCT FROM OLD.reversal_of
           OR NEW.external_id IS DISTINCT FROM OLD.external_id OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
          RAISE EXCEPTION 'transfer % is immutable', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.status <> OLD.status AND OLD.status <> 'pending' THEN
          RAISE EXCEPTION 'transfer % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.posted_amount <> OLD.posted_amount AND OLD.status <> 'pending' THEN
          RAISE EXCEPTION 'transfer % posted amount is final', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.reversed_amount < OLD.reversed_amount THEN
          RAISE EXCEPTION 'transfer % reversed amount only grows', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER transfers_guard BEFORE UPDATE OR DELETE ON transfers
      FOR EACH ROW EXECUTE FUNCTION transfers_guard()`);

    // Accounts are closed, never deleted; their identity and currency never change, closed is final,
    // and the entry count never goes back.
    await q.query(`CREATE FUNCTION accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'accounts are never deleted' USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq OR NEW.currency <> OLD.currency
           OR NEW.normal_balance <> OLD.normal_balance OR NEW.created_at <> OLD.created_at
           OR NEW.external_id IS DISTINCT FROM OLD.external_id THEN
          RAISE EXCEPTION 'account % identity is immutable', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        IF OLD.status = 'closed' AND NEW.status <> 'closed' THEN
          RAISE EXCEPTION 'account % is closed', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.version < OLD.version THEN
          RAISE EXCEPTION 'account % version only grows', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER accounts_guard BEFORE UPDATE OR DELETE ON accounts
      FOR EACH ROW EXECUTE FUNCTION accounts_guard()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ledger_entries`);
    await q.query(`DROP TABLE transfers`);
    await q.query(`DROP TABLE accounts`);
    await q.query(`DROP FUNCTION ledger_entries_append_only()`);
    await q.query(`DROP FUNCTION transfers_guard()`);
    await q.query(`DROP FUNCTION accounts_guard()`);
  }
}
