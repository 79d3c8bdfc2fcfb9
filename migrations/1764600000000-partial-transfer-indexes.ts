import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A transfer's external_id, batch_id and reversal_of are null for most transfers, yet full indexes took an
 * entry for every one: three of the nine index insertions of every posted single transfer. Only the non-null
 * values are ever looked up (a duplicate externalId, a batch's or an original's transfers), so the indexes
 * keep just those. The uniqueness of externalId is the same: NULLs never conflicted.
 */
export class PartialTransferIndexes1764600000000 implements MigrationInterface {
  name = 'PartialTransferIndexes1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "transfers" DROP CONSTRAINT "UQ_bfef4049c79a4a191fcfe6ea123"`);
    await q.query(
      `CREATE UNIQUE INDEX "transfers_external_id_key" ON "transfers" ("external_id") WHERE external_id IS NOT NULL`,
    );
    await q.query(`DROP INDEX "transfers_batch_idx"`);
    await q.query(`CREATE INDEX "transfers_batch_idx" ON "transfers" ("batch_id") WHERE batch_id IS NOT NULL`);
    await q.query(`DROP INDEX "transfers_reversal_of_idx"`);
    await q.query(
      `CREATE INDEX "transfers_reversal_of_idx" ON "transfers" ("reversal_of") WHERE reversal_of IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "transfers_reversal_of_idx"`);
    await q.query(`CREATE INDEX "transfers_reversal_of_idx" ON "transfers" ("reversal_of")`);
    await q.query(`DROP INDEX "transfers_batch_idx"`);
    await q.query(`CREATE INDEX "transfers_batch_idx" ON "transfers" ("batch_id")`);
    await q.query(`DROP INDEX "transfers_external_id_key"`);
    await q.query(`ALTER TABLE "transfers" ADD CONSTRAINT "UQ_bfef4049c79a4a191fcfe6ea123" UNIQUE ("external_id")`);
  }
}
