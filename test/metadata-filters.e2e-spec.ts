import type pg from 'pg';
import { ACCOUNT_LIST_SQL } from '../src/accounts/accounts.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect, planOf } from './support/database.js';
import { TRANSFER_LIST_SQL } from '../src/transfers/transfers.service.js';
import { createAccount, fundingSource, transfer } from './support/ledger.js';

// SPEC 11, metadata filters: `metadata[key]=value`, several ANDed, answered from an index.
describe('metadata filters on the account, transfer and transaction lists', () => {
  let t: TestApp;
  let op: string;
  let sql: pg.Client;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op } = await tokensByRole(t));
    sql = await connect(t.databaseUrl);
  });
  afterAll(async () => {
    await sql.end();
    await t.close();
  });

  const list = (query: string) => t.request('GET', `/v1/accounts?limit=500&${query}`, { token: op });
  const ids = async (query: string): Promise<string[]> => {
    const res = await list(query);
    expect(res.status).toBe(200);
    return res.body.data.map((a: { id: string }) => a.id);
  };

  it('lists the accounts whose metadata holds every pair given', async () => {
    const goldEu = await createAccount(t, op, { metadata: { tier: 'gold', region: 'eu' } });
    const goldUs = await createAccount(t, op, { metadata: { tier: 'gold', region: 'us', note: 'a b&c' } });
    const silver = await createAccount(t, op, { metadata: { tier: 'silver' } });
    expect(await ids('metadata[tier]=gold')).toEqual([goldEu.id, goldUs.id]);
    expect(await ids('metadata[tier]=gold&metadata[region]=eu')).toEqual([goldEu.id]);
    expect(await ids('metadata[region]=eu&metadata[tier]=silver')).toEqual([]);
    expect(await ids('metadata[tier]=silver&currency=USD')).toEqual([silver.id]);
    expect(await ids(`metadata[note]=${encodeURIComponent('a b&c')}`)).toEqual([goldUs.id]);
    expect(await ids('metadata[tier]=bronze')).toEqual([]);
  });

  it('refuses a key given twice, a key named like a prototype member, a plain metadata, and values too long', async () => {
    for (const query of [
      'metadata[tier]=gold&metadata[tier]=silver',
      'metadata[__proto__]=x',
      'metadata[constructor]=x',
      'metadata=gold',
      `metadata[tier]=${'x'.repeat(513)}`,
      `metadata[${'k'.repeat(65)}]=x`,
    ]) {
      const res = await list(query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({
        query,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
  });

  it('is answered from the GIN index, not by reading every account', async () => {
    await sql.query(`INSERT INTO accounts (id, ledger_id, currency, normal_balance, metadata)
      SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001', 'USD', 'credit',
        jsonb_build_object('tier', 'common', 'n', g::text) FROM generate_series(1, 20000) g`);
    await sql.query('ANALYZE accounts');
    const rare = JSON.stringify({ tier: 'rare' });
    const plan = await planOf(sql, ACCOUNT_LIST_SQL, [null, null, null, null, 51, null, null, null, rare]);
    expect(plan).toContain('accounts_metadata_idx');
    expect(plan).not.toContain('Seq Scan');
  });

  it('lists the transfers whose metadata holds every pair given, also among the transactions', async () => {
    const { source } = await fundingSource(t, op);
    const to = await createAccount(t, op);
    const move = async (metadata?: Record<string, string>): Promise<string> => {
      const res = await transfer(t, op, { debitAccountId: source.id, creditAccountId: to.id, amount: '1', metadata });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const plain = await move();
    const refund = await move({ kind: 'refund', order: 'o-1' });
    const fee = await move({ kind: 'fee', order: 'o-1' });
    const listed = async (path: string, query: string): Promise<string[]> => {
      const res = await t.request('GET', `${path}?accountId=${to.id}&${query}`, { token: op });
      expect(res.status).toBe(200);
      return res.body.data.map((x: { id: string }) => x.id);
    };
    expect(await listed('/v1/transfers', 'metadata[order]=o-1')).toEqual([refund, fee]);
    expect(await listed('/v1/transfers', 'metadata[order]=o-1&metadata[kind]=fee')).toEqual([fee]);
    expect(await listed('/v1/transfers', '')).toEqual([plain, refund, fee]);
    expect(await listed('/v1/transactions', 'metadata[kind]=refund')).toEqual([refund]);
    const twice = await t.request('GET', '/v1/transfers?metadata[kind]=a&metadata[kind]=b', { token: op });
    expect([twice.status, twice.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('is answered on transfers from the partial GIN index over the rows that have metadata', async () => {
    await sql.query(
      `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
         metadata, created_at, posted_at)
       SELECT gen_random_uuid(), a.ledger_id, a.id, b.id, 1, 'USD', 'posted', 1,
         CASE WHEN g % 4 = 0 THEN jsonb_build_object('kind', 'common', 'n', g::text) ELSE '{}' END, now(), now()
       FROM generate_series(1, 20000) g,
         (SELECT id, ledger_id FROM accounts WHERE currency = 'USD' ORDER BY seq LIMIT 1) a,
         (SELECT id FROM accounts WHERE currency = 'USD' ORDER BY seq OFFSET 1 LIMIT 1) b`,
    );
    await sql.query('ANALYZE transfers');
    const filters = [null, null, null, null, null, null, 51, null, null, null, JSON.stringify({ kind: 'rare' })];
    const plan = await planOf(sql, TRANSFER_LIST_SQL, filters);
    expect(plan).toContain('transfers_metadata_idx');
    expect(plan).not.toContain('Seq Scan');
    // Rows without metadata are not in the index at all: it holds about a quarter of the table's rows.
    const { rows } = await sql.query<{ indexed: string }>(
      `SELECT count(*) AS indexed FROM transfers WHERE metadata <> '{}'`,
    );
    expect(Number(rows[0]!.indexed)).toBeLessThan(6000);
  });
});
