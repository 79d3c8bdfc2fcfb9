import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who made each account and transfer, and who posted or voided a transfer (SPEC 10), as columns on the rows
 * themselves: answering with them, or listing "every transfer this API key made", needs no join. An actor is
 * `{ type, id, name }`; its id, the filter's key, leads an index with `seq` (the lists' order). Rows written
 * before actors were recorded keep null: nobody can say now who made them.
 */
export class Actors1765700000000 implements MigrationInterface {
  name = 'Actors1765700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "accounts" ADD "created_by" jsonb`);
    await q.query(`ALTER TABLE "transfers" ADD "created_by" jsonb`);
    await q.query(`ALTER TABLE "transfers" ADD "posted_by" jsonb`);
    await q.query(`ALTER TABLE "transfers" ADD "voided_by" jsonb`);
    await q.query(`CREATE INDEX "accounts_created_by_idx" ON "accounts" ((created_by ->> 'id'), "seq")`);
    await q.query(`CREATE INDEX "transfers_created_by_idx" ON "transfers" ((created_by ->> 'id'), "seq")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "transfers_created_by_idx"`);
    await q.query(`DROP INDEX "accounts_created_by_idx"`);
    await q.query(`ALTER TABLE "transfers" DROP COLUMN "voided_by"`);
    await q.query(`ALTER TABLE "transfers" DROP COLUMN "posted_by"`);
    await q.query(`ALTER TABLE "transfers" DROP COLUMN "created_by"`);
    await q.query(`ALTER TABLE "accounts" DROP COLUMN "created_by"`);
  }
}
