import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ReferenceChecksById1765500000000 } from './1765500000000-reference-checks-by-id.js';

/**
 * Transactions (SPEC 11): any number of postings moved as one unit. They share one id space and one order with
 * transfers: `seq` is drawn from the transfers' sequence by the insert, so the transactions list, which shows both,
 * pages on one `seq`. Their entries name them in `ledger_entries.transfer_id`, so the entries' reference check finds the id in
 * either table. A transaction is immutable but for its status moving forward, who posted or voided it, and the
 * reversal that names it, once (the guard).
 */
export class Transactions1766000000000 implements MigrationInterface {
  name = 'Transactions1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "transactions" (
      "id" uuid NOT NULL,
      "seq" bigint NOT NULL,
      "ledger_id" uuid NOT NULL,
      "status" text NOT NULL,
      "postings" jsonb NOT NULL,
      "account_ids" uuid array NOT NULL,
      "description" text,
      "external_id" text,
      "metadata" jsonb NOT NULL DEFAULT '{}',
      "reversal_of" uuid,
      "reversed_by" uuid,
      "expires_at" TIMESTAMP(3) WITH TIME ZONE,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "posted_at" TIMESTAMP(3) WITH TIME ZONE,
      "created_by" jsonb,
      "posted_by" jsonb,
      "voided_by" jsonb,
      CONSTRAINT "transactions_seq_key" UNIQUE ("seq"),
      CONSTRAINT "transactions_status_check" CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
      CONSTRAINT "transactions_posted_check" CHECK ((status = 'posted') = (posted_at IS NOT NULL)),
      CONSTRAINT "transactions_postings_check" CHECK (jsonb_typeof(postings) = 'array' AND jsonb_array_length(postings) BETWEEN 2 AND 100),
      CONSTRAINT "PK_transactions" PRIMARY KEY ("id"))`);
    await q.query(
      `CREATE UNIQUE INDEX "transactions_external_id_key" ON "transactions" ("ledger_id", "external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX "transactions_reversal_of_key" ON "transactions" ("reversal_of") WHERE reversal_of IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "transactions_account_ids_idx" ON "transactions" USING gin ("account_ids")`);
    await q.query(`CREATE INDEX "transactions_metadata_idx" ON "transactions" USING gin ("metadata" jsonb_path_ops)`);
    await q.query(`CREATE INDEX "transactions_pending_expiry_idx" ON "transactions" ("ledger_id", "expires_at")
      WHERE status = 'pending' AND expires_at IS NOT NULL`);

    await q.query(`CREATE FUNCTION transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'transactions are never deleted' USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq OR NEW.ledger_id <> OLD.ledger_id OR NEW.postings <> OLD.postings
           OR NEW.account_ids <> OLD.account_ids OR NEW.created_at <> OLD.created_at
           OR NEW.reversal_of IS DISTINCT FROM OLD.reversal_of OR NEW.external_id IS DISTINCT FROM OLD.external_id
           OR NEW.expires_at IS DISTINCT FROM OLD.expires_at OR NEW.created_by IS DISTINCT FROM OLD.created_by
           OR NEW.metadata <> OLD.metadata OR NEW.description IS DISTINCT FROM OLD.description THEN
          RAISE EXCEPTION 'transaction % is immutable', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.status <> OLD.status AND OLD.status <> 'pending' THEN
          RAISE EXCEPTION 'transaction % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
        END IF;
        IF OLD.reversed_by IS NOT NULL AND NEW.reversed_by IS DISTINCT FROM OLD.reversed_by THEN
          RAISE EXCEPTION 'transaction % is reversed once', OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER transactions_guard BEFORE UPDATE OR DELETE ON transactions
      FOR EACH ROW EXECUTE FUNCTION transactions_guard()`);

    // Every account a new transaction names, and the transaction it reverses, are in its own ledger.
    await q.query(`CREATE FUNCTION transactions_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT FROM new_rows n CROSS JOIN LATERAL unnest(n.account_ids) AS a(id)
                   WHERE (SELECT r.ledger_id FROM accounts r WHERE r.id = a.id) IS DISTINCT FROM n.ledger_id)
           OR EXISTS (SELECT FROM new_rows n WHERE n.reversal_of IS NOT NULL
                   AND (SELECT r.ledger_id FROM transactions r WHERE r.id = n.reversal_of) IS DISTINCT FROM n.ledger_id) THEN
          RAISE EXCEPTION 'a new transaction refers to an account or transaction that does not exist in its ledger'
            USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
      FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate()`);
    await q.query(`CREATE TRIGGER transactions_references AFTER INSERT ON transactions
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transactions_references_check()`);

    // An entry's transfer_id names a transfer or a transaction of its ledger. COALESCE evaluates its second lookup
    // only when the first finds no transfer, so a transfer's entries cost what they did.
    await q.query(`CREATE OR REPLACE FUNCTION ledger_entries_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT FROM new_rows n WHERE n.transfer_id IS NOT NULL
             AND coalesce((SELECT r.ledger_id FROM transfers r WHERE r.id = n.transfer_id),
                          (SELECT r.ledger_id FROM transactions r WHERE r.id = n.transfer_id)) IS DISTINCT FROM n.ledger_id)
           OR EXISTS (SELECT FROM new_rows n WHERE n.account_id IS NOT NULL
             AND (SELECT r.ledger_id FROM accounts r WHERE r.id = n.account_id) IS DISTINCT FROM n.ledger_id) THEN
          RAISE EXCEPTION 'a new row of % refers to an account or transfer that does not exist in its ledger', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Entries of transactions would name nothing once the table is gone: refused rather than orphaned.
    await q.query(`DO $$ BEGIN
      IF EXISTS (SELECT FROM transactions) THEN
        RAISE EXCEPTION 'transactions exist: reverting would orphan their entries' USING ERRCODE = 'restrict_violation';
      END IF;
    END $$`);
    await new ReferenceChecksById1765500000000().up(q);
    await q.query(`DROP TABLE "transactions"`);
    await q.query(`DROP FUNCTION transactions_references_check()`);
    await q.query(`DROP FUNCTION transactions_guard()`);
  }
}
