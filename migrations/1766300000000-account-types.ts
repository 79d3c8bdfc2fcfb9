import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Account types (SPEC 12): an account may name its place in the chart of accounts, and its normal balance then
 * follows from it (assets and expenses debit, the others credit), which the database holds too. Accounts made
 * before have none and stay `unclassified`.
 */
export class AccountTypes1766300000000 implements MigrationInterface {
  name = 'AccountTypes1766300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN type text`);
    await q.query(`ALTER TABLE accounts ADD CONSTRAINT accounts_type_check CHECK (${TYPE_CHECK})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts DROP CONSTRAINT accounts_type_check`);
    await q.query(`ALTER TABLE accounts DROP COLUMN type`);
  }
}

export const TYPE_CHECK = `type IS NULL OR (type IN ('asset', 'expense') AND normal_balance = 'debit')
  OR (type IN ('liability', 'equity', 'revenue') AND normal_balance = 'credit')`;
