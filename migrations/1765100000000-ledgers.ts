import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The ledger everything written before ledgers existed belongs to, and new accounts that name none (SPEC 9). */
export const DEFAULT_LEDGER_ID = '00000000-0000-4000-8000-000000000001';

export const REFERENCES = [
  ['transfers', 'debit_account_id', 'accounts'],
  ['transfers', 'credit_account_id', 'accounts'],
  ['transfers', 'reversal_of', 'transfers'],
  ['ledger_entries', 'transfer_id', 'transfers'],
  ['ledger_entries', 'account_id', 'accounts'],
] as const;

/**
 * Ledgers: independent books. Every account, transfer and entry gets the `ledger_id` of its ledger; everything
 * already there goes to `default`. The column is added with the default ledger's id as a constant default, so
 * existing rows take it without being rewritten or updated (entries are append-only, and their trigger refuses
 * any UPDATE), and the default is dropped at once: every new row names its ledger.
 *
 * The database holds invariant 10 again: the reference checks now also require a transfer's accounts and
 * original, and an entry's account and transfer, to be in the row's own ledger, and a row's ledger never
 * changes. An externalId is unique per resource type within a ledger.
 */
export class Ledgers1765100000000 implements MigrationInterface {
  name = 'Ledgers1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "ledgers" ("id" uuid NOT NULL, "seq" BIGSERIAL NOT NULL, "name" text NOT NULL,
      "description" text, "metadata" jsonb NOT NULL DEFAULT '{}', "closed_until" TIMESTAMP(3) WITH TIME ZONE,
      "created_by" jsonb, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "ledgers_seq_key" UNIQUE ("seq"), CONSTRAINT "ledgers_name_key" UNIQUE ("name"),
      CONSTRAINT "ledgers_name_check" CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
      CONSTRAINT "ledgers_pkey" PRIMARY KEY ("id"))`);
    await q.query(`INSERT INTO "ledgers" (id, name, description) VALUES ($1, 'default', $2)`, [
      DEFAULT_LEDGER_ID,
      'the ledger of everything written before ledgers existed, and of accounts created without one',
    ]);
    for (const table of ['accounts', 'transfers', 'ledger_entries']) {
      await q.query(`ALTER TABLE "${table}" ADD "ledger_id" uuid NOT NULL DEFAULT '${DEFAULT_LEDGER_ID}'`);
      await q.query(`ALTER TABLE "${table}" ALTER COLUMN "ledger_id" DROP DEFAULT`);
    }
    await q.query(`ALTER TABLE "accounts" DROP CONSTRAINT "UQ_ee32a4964f6c324a71536a89159"`);
    // externalId first: a lookup by externalId alone (a list filter, the group's duplicate check before it knows
    // the ledgers) still finds it by index.
    await q.query(`CREATE UNIQUE INDEX "accounts_external_id_key" ON "accounts" ("external_id", "ledger_id")`);
    await q.query(`DROP INDEX "transfers_external_id_key"`);
    await q.query(
      `CREATE UNIQUE INDEX "transfers_external_id_key" ON "transfers" ("external_id", "ledger_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "accounts_ledger_seq_idx" ON "accounts" ("ledger_id", "seq")`);
    await this.referenceChecks(q, true);
    await q.query(`CREATE FUNCTION ledger_id_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.ledger_id <> OLD.ledger_id THEN
          RAISE EXCEPTION '% % never changes ledger', TG_TABLE_NAME, OLD.id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    // Only when the column is named in the UPDATE: the counters' UPDATE of every movement never names it.
    for (const table of ['accounts', 'transfers']) {
      await q.query(`CREATE TRIGGER ${table}_ledger_guard BEFORE UPDATE OF ledger_id ON ${table}
        FOR EACH ROW EXECUTE FUNCTION ledger_id_guard()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['accounts', 'transfers']) await q.query(`DROP TRIGGER ${table}_ledger_guard ON ${table}`);
    await q.query(`DROP FUNCTION ledger_id_guard()`);
    await this.referenceChecks(q, false);
    await q.query(`DROP INDEX "accounts_ledger_seq_idx"`);
    await q.query(`DROP INDEX "transfers_external_id_key"`);
    await q.query(
      `CREATE UNIQUE INDEX "transfers_external_id_key" ON "transfers" ("external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`DROP INDEX "accounts_external_id_key"`);
    await q.query(`ALTER TABLE "accounts" ADD CONSTRAINT "UQ_ee32a4964f6c324a71536a89159" UNIQUE ("external_id")`);
    for (const table of ['ledger_entries', 'transfers', 'accounts']) {
      await q.query(`ALTER TABLE "${table}" DROP COLUMN "ledger_id"`);
    }
    await q.query(`DROP TABLE "ledgers"`);
  }

  /** The statement-level reference checks of 1764800000000, each reference also in the row's own ledger (or not). */
  async referenceChecks(q: QueryRunner, sameLedger: boolean): Promise<void> {
    for (const table of ['transfers', 'ledger_entries']) {
      const lookups = REFERENCES.filter(([t]) => t === table).map(
        ([, column, referenced]) =>
          `EXISTS (SELECT FROM new_rows n WHERE n.${column} IS NOT NULL
             AND NOT EXISTS (SELECT FROM ${referenced} r WHERE r.id = n.${column}${sameLedger ? ' AND r.ledger_id = n.ledger_id' : ''}))`,
      );
      const what = sameLedger
        ? 'an account or transfer that does not exist in its ledger'
        : 'an account or transfer that does not exist';
      await q.query(`CREATE OR REPLACE FUNCTION ${table}_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF ${lookups.join(' OR ')} THEN
            RAISE EXCEPTION 'a new row of % refers to ${what}', TG_TABLE_NAME
              USING ERRCODE = 'foreign_key_violation';
          END IF;
          RETURN NULL;
        END $$`);
    }
  }
}
