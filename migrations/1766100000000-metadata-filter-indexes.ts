import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `?metadata[k]=v` on the transfers list (SPEC 11), and the transactions' index made alike: GIN (`jsonb_path_ops`)
 * over the rows that have metadata at all. A movement written without metadata — most of them, and every one of
 * the hot path's benchmarks — adds nothing to the index; the lists' filter names the same predicate
 * (`metadata <> '{}'`), which a filter with at least one pair implies, so the planner can use it.
 */
export class MetadataFilterIndexes1766100000000 implements MigrationInterface {
  name = 'MetadataFilterIndexes1766100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "transfers_metadata_idx" ON "transfers" USING gin ("metadata" jsonb_path_ops) WHERE metadata <> '{}'`,
    );
    await q.query(`DROP INDEX "transactions_metadata_idx"`);
    await q.query(
      `CREATE INDEX "transactions_metadata_idx" ON "transactions" USING gin ("metadata" jsonb_path_ops) WHERE metadata <> '{}'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "transactions_metadata_idx"`);
    await q.query(`CREATE INDEX "transactions_metadata_idx" ON "transactions" USING gin ("metadata" jsonb_path_ops)`);
    await q.query(`DROP INDEX "transfers_metadata_idx"`);
  }
}
