import type { MigrationInterface, QueryRunner } from 'typeorm';

const FOREIGN_KEYS = [
  ['transfers', 'transfers_debit_account_fkey', 'debit_account_id', 'accounts'],
  ['transfers', 'transfers_credit_account_fkey', 'credit_account_id', 'accounts'],
  ['transfers', 'transfers_reversal_of_fkey', 'reversal_of', 'transfers'],
  ['ledger_entries', 'ledger_entries_transfer_fkey', 'transfer_id', 'transfers'],
  ['ledger_entries', 'ledger_entries_account_fkey', 'account_id', 'accounts'],
] as const;

/**
 * The five foreign keys of transfers and ledger entries become one statement-level check per table.
 * PostgreSQL checks a foreign key row by row, each with its own query and a row lock on the referenced row:
 * four per posted transfer, about a third of the server's work in a group's write statement (measured in
 * BENCHMARKS.md). Here each INSERT statement looks its new rows' references up in one set-based query per
 * column, over the transition table.
 *
 * A foreign key also guards the referenced side, against deleting or re-keying a referenced row. That is
 * already refused: accounts and transfers are never deleted and their ids never change (accounts_guard,
 * transfers_guard), a transfer's parties and reversal_of are immutable, entries are append-only. TRUNCATE,
 * which the foreign keys refused for accounts and transfers, is refused by a trigger of its own. So the
 * database still guarantees that every transfer and every entry refers to rows that exist.
 *
 * Each reference is its own EXISTS: written as one query with OR, PostgreSQL 18 plans the NOT EXISTS
 * clauses as hashed subplans that read the whole referenced table on every statement.
 */
export class ReferenceChecks1764800000000 implements MigrationInterface {
  name = 'ReferenceChecks1764800000000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, constraint] of FOREIGN_KEYS) {
      await q.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${constraint}"`);
    }
    for (const table of ['transfers', 'ledger_entries']) {
      const lookups = FOREIGN_KEYS.filter(([t]) => t === table).map(
        ([, , column, referenced]) =>
          `EXISTS (SELECT FROM new_rows n WHERE n.${column} IS NOT NULL
             AND NOT EXISTS (SELECT FROM ${referenced} r WHERE r.id = n.${column}))`,
      );
      await q.query(`CREATE FUNCTION ${table}_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF ${lookups.join(' OR ')} THEN
            RAISE EXCEPTION 'a new row of % refers to an account or transfer that does not exist', TG_TABLE_NAME
              USING ERRCODE = 'foreign_key_violation';
          END IF;
          RETURN NULL;
        END $$`);
      await q.query(`CREATE TRIGGER ${table}_references AFTER INSERT ON ${table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${table}_references_check()`);
    }
    await q.query(`CREATE FUNCTION ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['accounts', 'transfers']) {
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['accounts', 'transfers']) await q.query(`DROP TRIGGER ${table}_no_truncate ON ${table}`);
    await q.query(`DROP FUNCTION ledger_no_truncate()`);
    for (const table of ['transfers', 'ledger_entries']) {
      await q.query(`DROP TRIGGER ${table}_references ON ${table}`);
      await q.query(`DROP FUNCTION ${table}_references_check()`);
    }
    for (const [table, constraint, column, referenced] of FOREIGN_KEYS) {
      await q.query(
        `ALTER TABLE "${table}" ADD CONSTRAINT "${constraint}" FOREIGN KEY ("${column}") REFERENCES "${referenced}"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
      );
    }
  }
}
