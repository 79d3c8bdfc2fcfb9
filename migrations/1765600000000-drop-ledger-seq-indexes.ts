import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the (ledger_id, seq) indexes of transfers and entries that 1765300000000 added for the `?ledgerId=` lists.
 * Every transfer and entry paid for them, and in benchmarks the server's work per transfer in the uniform scenario
 * was 21-43 % higher with them and back to before without them (BENCHMARKS.md), while the planner, with ledgers
 * mixed in the tables, served those lists from the seq index and a filter anyway. Accounts keep theirs: an
 * account is written once.
 */
export class DropLedgerSeqIndexes1765600000000 implements MigrationInterface {
  name = 'DropLedgerSeqIndexes1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "transfers_ledger_seq_idx"`);
    await q.query(`DROP INDEX "ledger_entries_ledger_seq_idx"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "transfers_ledger_seq_idx" ON "transfers" ("ledger_id", "seq")`);
    await q.query(`CREATE INDEX "ledger_entries_ledger_seq_idx" ON "ledger_entries" ("ledger_id", "seq")`);
  }
}
