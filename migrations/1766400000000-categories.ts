import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Categories (SPEC 12): a ledger's accounts grouped for reporting, nested under one parent each, an account in
 * as many categories of its ledger as it likes. No foreign keys, as no table of the books has one: the write that
 * links a parent or an account checks, in its SERIALIZABLE transaction, that it exists in the same ledger.
 */
export class Categories1766400000000 implements MigrationInterface {
  name = 'Categories1766400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE categories (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      ledger_id uuid NOT NULL,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      normal_balance text NOT NULL CHECK (normal_balance IN ('debit', 'credit')),
      parent_id uuid CHECK (parent_id <> id),
      created_by jsonb,
      created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
      updated_at timestamp(3) with time zone NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX categories_ledger_seq_idx ON categories (ledger_id, seq)`);
    await q.query(`CREATE INDEX categories_parent_idx ON categories (parent_id)`);
    await q.query(`CREATE TABLE category_accounts (
      category_id uuid NOT NULL,
      account_id uuid NOT NULL,
      PRIMARY KEY (category_id, account_id))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE category_accounts, categories`);
  }
}
