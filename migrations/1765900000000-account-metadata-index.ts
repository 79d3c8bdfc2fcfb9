import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /v1/accounts?metadata[k]=v` (SPEC 11) as one containment test (`metadata @> {...}`), which a GIN index with
 * `jsonb_path_ops` answers for any number of pairs. Accounts are written once and rarely, so the index costs the
 * write path next to nothing; transfers, written on the hot path, do not have one yet.
 */
export class AccountMetadataIndex1765900000000 implements MigrationInterface {
  name = 'AccountMetadataIndex1765900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "accounts_metadata_idx" ON "accounts" USING gin ("metadata" jsonb_path_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "accounts_metadata_idx"`);
  }
}
