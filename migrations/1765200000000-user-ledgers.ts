import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user may be limited to some ledgers (SPEC 9): `ledgers` holds their ids, NULL for every ledger (every user
 * before this change). An empty list would be a user who sees nothing; the API refuses it and so does the table.
 */
export class UserLedgers1765200000000 implements MigrationInterface {
  name = 'UserLedgers1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD "ledgers" uuid array`);
    await q.query(
      `ALTER TABLE "users" ADD CONSTRAINT "users_ledgers_check" CHECK (ledgers IS NULL OR cardinality(ledgers) >= 1)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP CONSTRAINT "users_ledgers_check"`);
    await q.query(`ALTER TABLE "users" DROP COLUMN "ledgers"`);
  }
}
