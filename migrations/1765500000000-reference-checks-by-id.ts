import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Ledgers1765100000000, REFERENCES } from './1765100000000-ledgers.js';

/**
 * The reference checks find each referenced row by its id alone and compare its ledger afterwards. Written as
 * `r.id = n.x AND r.ledger_id = n.ledger_id`, the lookup could also be planned on an index that starts with
 * `ledger_id` (1765300000000 added some), reading a whole ledger's rows per new row; PL/pgSQL keeps the plan it
 * made while the tables were small for the life of the connection, and in benchmarks some service starts ran
 * every group for 200 ms instead of 25 (BENCHMARKS.md). With the ledger outside the lookup, the primary key is
 * the only index that answers it.
 */
export class ReferenceChecksById1765500000000 implements MigrationInterface {
  name = 'ReferenceChecksById1765500000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['transfers', 'ledger_entries']) {
      const lookups = REFERENCES.filter(([t]) => t === table).map(
        ([, column, referenced]) =>
          `EXISTS (SELECT FROM new_rows n WHERE n.${column} IS NOT NULL
             AND (SELECT r.ledger_id FROM ${referenced} r WHERE r.id = n.${column}) IS DISTINCT FROM n.ledger_id)`,
      );
      await q.query(`CREATE OR REPLACE FUNCTION ${table}_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF ${lookups.join(' OR ')} THEN
            RAISE EXCEPTION 'a new row of % refers to an account or transfer that does not exist in its ledger', TG_TABLE_NAME
              USING ERRCODE = 'foreign_key_violation';
          END IF;
          RETURN NULL;
        END $$`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await new Ledgers1765100000000().referenceChecks(q, true);
  }
}
