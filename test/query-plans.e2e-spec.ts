import type pg from 'pg';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { createAccount, fundingSource, newKey, transfer } from './support/ledger.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Scans {
  seq: number;
  idx: number;
}

// The write path's statements are prepared on its connections, and PostgreSQL caches one generic plan per
// statement. A plan made while the tables were small (here: the first transfers of a fresh database) must not
// go on scanning them whole once they have grown and before anything has analyzed them: in a benchmark that
// made every group read all of idempotency_keys.
describe('the write path as its tables grow', () => {
  let t: TestApp;
  let sql: pg.Client;

  beforeAll(async () => {
    t = await startTestApp();
    sql = await connect(t.databaseUrl);
  });
  afterAll(async () => {
    await sql.end();
    await t.close();
  });

  const scans = async (table: string): Promise<Scans> => {
    const { rows } = await sql.query<{ seq: string; idx: string }>(
      `SELECT coalesce(seq_scan, 0) AS seq, coalesce(idx_scan, 0) AS idx FROM pg_stat_user_tables WHERE relname = $1`,
      [table],
    );
    return { seq: Number(rows[0]!.seq), idx: Number(rows[0]!.idx) };
  };

  it('finds idempotency keys, accounts and transfers by index, not by reading the tables', async () => {
    const { operator } = await tokensByRole(t);
    const funding = await fundingSource(t, operator);
    const to = await createAccount(t, operator);
    const send = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const res = await transfer(
          t,
          operator,
          { debitAccountId: funding.source.id, creditAccountId: to.id, amount: '1' },
          newKey(),
        );
        expect(res.status).toBe(201);
      }
    };
    // More than five executions: from the sixth on, PostgreSQL may keep a generic plan, made for these sizes.
    await send(12);

    // The tables grow behind the service's back, and nothing analyzes them.
    await sql.query(`INSERT INTO idempotency_keys (user_id, key, request_hash, response)
      SELECT gen_random_uuid(), 'bulk-' || g, 'h', '{}' FROM generate_series(1, 40000) g`);
    await sql.query(`INSERT INTO accounts (id, ledger_id, currency, normal_balance)
      SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001', 'USD', 'credit' FROM generate_series(1, 20000) g`);
    const tables = ['idempotency_keys', 'accounts', 'transfers'];
    // Table statistics reach pg_stat_user_tables once a backend publishes them (at most once a second).
    await sleep(1100);
    await send(1);
    const before = await waitForStats(tables, () => true);

    await send(12);
    await sleep(1100);
    await send(1);
    const after = await waitForStats(tables, (now) => now.idempotency_keys!.idx >= before.idempotency_keys!.idx + 13);

    for (const table of tables) {
      expect({ table, sequentialScans: after[table]!.seq - before[table]!.seq }).toEqual({ table, sequentialScans: 0 });
    }
    // The statistics did arrive (the comparison above is not vacuous): every request looked its key up by index.
    expect(after.idempotency_keys!.idx).toBeGreaterThanOrEqual(before.idempotency_keys!.idx + 13);
    expect(after.accounts!.idx).toBeGreaterThan(before.accounts!.idx);
  });

  async function waitForStats(
    tables: string[],
    ready: (now: Record<string, Scans>) => boolean,
  ): Promise<Record<string, Scans>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const now: Record<string, Scans> = {};
      for (const table of tables) now[table] = await scans(table);
      if (ready(now) || Date.now() > deadline) return now;
      await sleep(200);
    }
  }
});
