import type pg from 'pg';
import { ACCOUNT_EXTERNAL_ID_SQL, ACCOUNT_LIST_SQL } from '../src/accounts/accounts.service.js';
import { ACCOUNT_ENTRIES_SQL } from '../src/entries/entries.service.js';
import { DUE_LEDGERS_SQL } from '../src/transfers/expiry-sweeper.js';
import { plain } from '../src/transfers/ledger-writes.js';
import { EXPIRE_DUE_SQL, TAKEN_EXTERNAL_IDS_SQL } from '../src/transfers/transfer-writes.js';
import { TRANSACTION_LIST_SQL, TRANSACTIONS_OF_ACCOUNT_SQL } from '../src/transactions/transactions.service.js';
import { TRANSFER_LIST_SQL } from '../src/transfers/transfers.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect, planOf } from './support/database.js';
import { createAccount, fundingSource, newKey, transfer } from './support/ledger.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Scans {
  /** Rows read by sequential scans: a scan of a grown table reads all of it. */
  seqRows: number;
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
    const { rows } = await sql.query<{ seq_rows: string; idx: string }>(
      `SELECT coalesce(seq_tup_read, 0) AS seq_rows, coalesce(idx_scan, 0) AS idx
       FROM pg_stat_user_tables WHERE relname = $1`,
      [table],
    );
    return { seqRows: Number(rows[0]!.seq_rows), idx: Number(rows[0]!.idx) };
  };

  it('finds idempotency keys and accounts by index, not by reading the tables', async () => {
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
    const grownTo = { idempotency_keys: 40_000, accounts: 20_000 };
    const tables = Object.keys(grownTo);
    // Table statistics reach pg_stat_user_tables once a backend publishes them (at most once a second).
    await sleep(1100);
    await send(1);
    const before = await waitForStats(tables, () => true);

    await send(12);
    await sleep(1100);
    await send(1);
    const after = await waitForStats(tables, (now) => now.idempotency_keys!.idx >= before.idempotency_keys!.idx + 13);

    // Counted in rows, not scans: a pooled connection publishes its counts up to 10 s after it goes idle, so the
    // migrations' scans of the then empty tables may arrive in this window. Those read nothing; one scan of a
    // grown table reads all of it.
    for (const [table, rows] of Object.entries(grownTo)) {
      const read = after[table]!.seqRows - before[table]!.seqRows;
      expect({ table, readWhole: read >= rows }).toEqual({ table, readWhole: false });
    }
    // The statistics did arrive (the comparison above is not vacuous): every request looked its key up by index.
    expect(after.idempotency_keys!.idx).toBeGreaterThanOrEqual(before.idempotency_keys!.idx + 13);
    expect(after.accounts!.idx).toBeGreaterThan(before.accounts!.idx);
  });

  // Each ledger's rows sit on their own pages of the ledger-leading keys, so a writer reads (and predicate-locks)
  // only its own ledger's: the write path must look rows up by those keys, never by the lists' indexes on
  // external_id alone, which mix every ledger's ids on the same pages.
  it('looks up external ids, account entries and expiring transfers along ledger-leading indexes', async () => {
    const { admin, operator } = await tokensByRole(t);
    const ledger = await t.request('POST', '/v1/ledgers', { token: admin, body: { name: 'plans-b' } });
    expect(ledger.status).toBe(201);
    const [a, b] = [await fundingSource(t, operator), await fundingSource(t, operator, 'USD', 'plans-b')];
    const [toA, toB] = [await createAccount(t, operator), await createAccount(t, operator, { ledgerId: 'plans-b' })];
    const send = (from: any, to: any, externalId: string) =>
      transfer(
        t,
        operator,
        { debitAccountId: from.source.id, creditAccountId: to.id, amount: '1', externalId },
        newKey(),
      );
    expect((await send(a, toA, 'plans-1')).status).toBe(201);
    // The same externalId in another ledger is another transfer's; in the same ledger it is refused.
    expect((await send(b, toB, 'plans-1')).status).toBe(201);
    const again = await send(a, toA, 'plans-1');
    expect([again.status, again.body.code]).toEqual([409, 'DUPLICATE_EXTERNAL_ID']);

    // Grown tables, analyzed but not vacuumed: no page all-visible, where an equality on external_id, each id
    // being in one ledger, is answered from transfers_external_id_idx as cheaply as from the key.
    for (const [from, to, name] of [
      [a, toA, 'a'],
      [b, toB, 'b'],
    ]) {
      await sql.query(
        `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status,
           posted_amount, external_id, created_at, posted_at, expires_at)
         SELECT gen_random_uuid(), $1, $2, $3, 1, 'USD', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'posted' END,
           CASE WHEN g % 10 = 0 THEN 0 ELSE 1 END, $4::text || g, now(), CASE WHEN g % 10 = 0 THEN NULL ELSE now() END,
           CASE WHEN g % 10 = 0 THEN now() + interval '1 day' END
         FROM generate_series(1, 20000) g`,
        [from.source.ledgerId, from.source.id, to.id, `bulk-${name}-`],
      );
      await sql.query(
        `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount,
           account_version, balance_after, debits_after, credits_after, created_at, prev_hash, hash)
         SELECT gen_random_uuid(), ledger_id, id, debit_account_id, 'USD', 'debit', 1,
           1000 + row_number() OVER (ORDER BY seq), 0, 0, 0, now(), 'p', 'h'
         FROM transfers WHERE ledger_id = $1 AND external_id LIKE 'bulk-%'`,
        [from.source.ledgerId],
      );
    }
    await sql.query('ANALYZE accounts, transfers, ledger_entries');
    const plan = (text: string, values: unknown[]): Promise<string> => planOf(sql, text, values);

    // The group's duplicate check, with its parameters as the write path sends them.
    const pairs = [
      plain([a.source.ledgerId, b.source.ledgerId, b.source.ledgerId]),
      ['plans-1', 'bulk-b-7', 'plans-2'],
    ];
    const taken = await plan(TAKEN_EXTERNAL_IDS_SQL, pairs);
    expect(taken).toContain('transfers_external_id_key');
    expect(taken).not.toContain('transfers_external_id_idx');
    expect(taken).not.toContain('Seq Scan');
    const found = await sql.query(TAKEN_EXTERNAL_IDS_SQL, pairs);
    expect(found.rows.map((r) => `${r.ledger_id} ${r.external_id}`).sort()).toEqual(
      [`${a.source.ledgerId} plans-1`, `${b.source.ledgerId} bulk-b-7`].sort(),
    );
    const accountKey = await plan(ACCOUNT_EXTERNAL_ID_SQL, [a.source.ledgerId, 'plans-1']);
    expect(accountKey).toContain('accounts_external_id_key');
    expect(accountKey).not.toContain('accounts_external_id_idx');

    // An account's entries, a page at a time in version order: the key gives the order, nothing is sorted.
    for (const after of [null, '5000']) {
      const entries = await plan(ACCOUNT_ENTRIES_SQL, [a.source.id, after, null, null, 51, a.source.ledgerId]);
      expect(entries).toMatch(/Index Scan using ledger_entries_account_version_key/);
      expect(entries).toMatch(/Index Cond: \(\(ledger_id = /);
      expect(entries).not.toContain('Sort');
    }

    // `?createdBy=`: one actor's rows along its own index, already in the lists' order.
    const byActor = [null, null, null, null, null, null, 51, null, null, 'someone', null];
    const transfersBy = await plan(TRANSFER_LIST_SQL, byActor);
    expect(transfersBy).toMatch(/Index Scan using transfers_created_by_idx/);
    expect(transfersBy).not.toContain('Sort');
    const accountsBy = await plan(ACCOUNT_LIST_SQL, [null, null, null, null, 51, null, null, 'someone', null]);
    expect(accountsBy).toMatch(/Index Scan using accounts_created_by_idx/);

    // The expiry sweep: which ledgers have something due, then each ledger's due transfers.
    expect(await plan(DUE_LEDGERS_SQL, [])).toContain('transfers_pending_expiry_idx');
    const due = await plan(EXPIRE_DUE_SQL, [new Date(Date.now() + 2 * 86_400_000), 200, b.source.ledgerId]);
    expect(due).toMatch(/Index Scan using transfers_pending_expiry_idx/);
    expect(due).toMatch(/Index Cond: \(\(ledger_id = /);

    // Through the service: the write path's checks probe the key, and the lists' filter by externalId alone
    // (no ledger named) has an index of its own.
    const indexScans = async (): Promise<Record<string, number>> => {
      const { rows } = await sql.query<{ name: string; n: string }>(
        `SELECT indexrelname AS name, idx_scan AS n FROM pg_stat_user_indexes WHERE indexrelname = ANY($1)`,
        [['transfers_external_id_key', 'transfers_external_id_idx']],
      );
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
    };
    await sleep(1100);
    await send(a, toA, 'plans-settle');
    const before = await waitForIndexStats(indexScans, () => true);
    for (let i = 0; i < 5; i++) expect((await send(b, toB, `plans-new-${i}`)).status).toBe(201);
    await sleep(1100);
    await send(b, toB, 'plans-new-last');
    const written = await waitForIndexStats(
      indexScans,
      (now) => now.transfers_external_id_key! >= before.transfers_external_id_key! + 5,
    );
    expect(written.transfers_external_id_key).toBeGreaterThanOrEqual(before.transfers_external_id_key! + 5);
    expect(written.transfers_external_id_idx).toBe(before.transfers_external_id_idx);
    const listed = await t.request('GET', '/v1/transfers?externalId=plans-1', { token: operator });
    expect(listed.body.data).toHaveLength(2);
    await sleep(1100);
    await t.request('GET', '/v1/transfers?externalId=plans-2', { token: operator });
    const read = await waitForIndexStats(
      indexScans,
      (now) => now.transfers_external_id_idx! > written.transfers_external_id_idx!,
    );
    expect(read.transfers_external_id_idx).toBeGreaterThan(written.transfers_external_id_idx!);
  });

  it('lists transactions by account, metadata and external id from their own indexes (SPEC 11)', async () => {
    const ledgerId = '00000000-0000-4000-8000-000000000001';
    const { rows: accounts } = await sql.query<{ id: string }>(
      `INSERT INTO accounts (id, ledger_id, currency, normal_balance, allow_negative)
       SELECT gen_random_uuid(), $1, 'USD', 'credit', true FROM generate_series(1, 200) RETURNING id`,
      [ledgerId],
    );
    const ids = accounts.map((a) => a.id);
    const toRare = await createAccount(t, (await tokensByRole(t)).operator);
    // 20,000 posted transactions of two postings each among 200 accounts; one in ten carries metadata.
    await sql.query(
      `INSERT INTO transactions (seq, id, ledger_id, status, postings, account_ids, external_id, metadata, created_at,
         posted_at)
       SELECT nextval('transfers_seq_seq'), gen_random_uuid(), $1, 'posted',
         jsonb_build_array(jsonb_build_object('accountId', d, 'direction', 'debit', 'amount', '1', 'currency', 'USD'),
                           jsonb_build_object('accountId', c, 'direction', 'credit', 'amount', '1', 'currency', 'USD')),
         ARRAY[d, c], 'tx-' || g, CASE WHEN g % 10 = 0 THEN jsonb_build_object('order', 'o-' || g) ELSE '{}' END,
         now(), now()
       FROM generate_series(1, 20000) g,
         LATERAL (SELECT ($2::uuid[])[1 + g % 200] AS d, ($2::uuid[])[1 + (g + 1 + g / 200) % 200] AS c) pick
       WHERE d <> c`,
      [ledgerId, ids],
    );
    await sql.query('ANALYZE transactions');
    const plan = (text: string, values: unknown[]): Promise<string> => planOf(sql, text, values);
    const query = (accountId: string | null, metadata: string | null): unknown[] => [
      null,
      accountId,
      null,
      null,
      null,
      null,
      51,
      null,
      null,
      null,
      metadata,
    ];
    // An account with few transactions among many (the common case): found from the GIN index on account_ids.
    await sql.query(
      `INSERT INTO transactions (seq, id, ledger_id, status, postings, account_ids, created_at, posted_at)
       SELECT nextval('transfers_seq_seq'), gen_random_uuid(), $1, 'posted', '[{}, {}]', ARRAY[$2::uuid, $3::uuid], now(), now()
       FROM generate_series(1, 3)`,
      [ledgerId, ids[0], toRare.id],
    );
    const byAccount = await plan(TRANSACTIONS_OF_ACCOUNT_SQL, query(toRare.id, null));
    expect(byAccount).toMatch(/Bitmap Index Scan on transactions_account_ids_idx/);
    expect((await sql.query(TRANSACTIONS_OF_ACCOUNT_SQL, query(toRare.id, null))).rows).toHaveLength(3);
    const byMetadata = await plan(TRANSACTION_LIST_SQL, query(null, JSON.stringify({ order: 'o-20' })));
    expect(byMetadata).toMatch(/Bitmap Index Scan on transactions_metadata_idx/);
    const found = await sql.query(TRANSACTION_LIST_SQL, query(null, JSON.stringify({ order: 'o-20' })));
    expect(found.rows.map((r) => r.external_id)).toEqual(['tx-20']);
    // The write path's duplicate check probes the transactions' ledger-leading key too.
    const taken = await plan(TAKEN_EXTERNAL_IDS_SQL, [plain([ledgerId]), ['tx-5']]);
    expect(taken).toContain('transactions_external_id_key');
    expect(taken).not.toMatch(/Seq Scan on transactions/);
  });

  async function waitForIndexStats(
    read: () => Promise<Record<string, number>>,
    ready: (now: Record<string, number>) => boolean,
  ): Promise<Record<string, number>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const now = await read();
      if (ready(now) || Date.now() > deadline) return now;
      await sleep(200);
    }
  }

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
