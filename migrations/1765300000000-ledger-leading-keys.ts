import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ledger-leading keys: every unique key on accounts, transfers and ledger_entries, and every index a movement
 * looks rows up by, starts with `ledger_id`. Each ledger's rows then sit on their own index pages, so writers of
 * different ledgers take fewer SERIALIZABLE predicate locks on the same pages (fewer conflicts between ledgers),
 * and these keys already hold the column a distribution by ledger (Citus) needs in every unique key.
 *
 * - externalId is unique per ledger: (ledger_id, external_id). A filter by externalId alone (the lists'
 *   `?externalId=` without `?ledgerId=`) keeps an index of its own, on the non-null values only; the write path
 *   never reads through it (its checks seek along the keys, see `takenExternalIds`).
 * - An account's entry versions: (ledger_id, account_id, account_version); an account's entries are all in its
 *   ledger, so the key is as strict as before, and every lookup by account names the account's ledger.
 * - Pending transfers due to expire, swept ledger by ledger: (ledger_id, expires_at).
 * - `?ledgerId=` lists and the per-ledger journal, in seq order: (ledger_id, seq), like accounts_ledger_seq_idx.
 *
 * Out of scope, kept as they are: the id keys (the primary keys of accounts and transfers, and ledger_entries'
 * unique id, whose primary key is seq), for lookups by id alone from routes that name no ledger, and the global
 * `seq` keys, the journal's and the lists' order across ledgers. The non-unique indexes that only reads use
 * (by account, status, currency, time, batch, original) stay too.
 */
export class LedgerLeadingKeys1765300000000 implements MigrationInterface {
  name = 'LedgerLeadingKeys1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "accounts_external_id_key"`);
    await q.query(`CREATE UNIQUE INDEX "accounts_external_id_key" ON "accounts" ("ledger_id", "external_id")`);
    await q.query(
      `CREATE INDEX "accounts_external_id_idx" ON "accounts" ("external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`DROP INDEX "transfers_external_id_key"`);
    await q.query(
      `CREATE UNIQUE INDEX "transfers_external_id_key" ON "transfers" ("ledger_id", "external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX "transfers_external_id_idx" ON "transfers" ("external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_account_version_key"`);
    await q.query(`ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_version_key"
      UNIQUE ("ledger_id", "account_id", "account_version")`);
    await q.query(`DROP INDEX "transfers_pending_expiry_idx"`);
    await q.query(`CREATE INDEX "transfers_pending_expiry_idx" ON "transfers" ("ledger_id", "expires_at")
      WHERE status = 'pending' AND expires_at IS NOT NULL`);
    await q.query(`CREATE INDEX "transfers_ledger_seq_idx" ON "transfers" ("ledger_id", "seq")`);
    await q.query(`CREATE INDEX "ledger_entries_ledger_seq_idx" ON "ledger_entries" ("ledger_id", "seq")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ledger_entries_ledger_seq_idx"`);
    await q.query(`DROP INDEX "transfers_ledger_seq_idx"`);
    await q.query(`DROP INDEX "transfers_pending_expiry_idx"`);
    await q.query(`CREATE INDEX "transfers_pending_expiry_idx" ON "transfers" ("expires_at")
      WHERE status = 'pending' AND expires_at IS NOT NULL`);
    await q.query(`ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_account_version_key"`);
    await q.query(`ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_version_key"
      UNIQUE ("account_id", "account_version")`);
    await q.query(`DROP INDEX "transfers_external_id_idx"`);
    await q.query(`DROP INDEX "transfers_external_id_key"`);
    await q.query(
      `CREATE UNIQUE INDEX "transfers_external_id_key" ON "transfers" ("external_id", "ledger_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`DROP INDEX "accounts_external_id_idx"`);
    await q.query(`DROP INDEX "accounts_external_id_key"`);
    await q.query(`CREATE UNIQUE INDEX "accounts_external_id_key" ON "accounts" ("external_id", "ledger_id")`);
  }
}
