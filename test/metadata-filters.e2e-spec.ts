import type pg from 'pg';
import { ACCOUNT_LIST_SQL } from '../src/accounts/accounts.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { createAccount } from './support/ledger.js';

// SPEC 11, metadata filters: `metadata[key]=value`, several ANDed, answered from an index.
describe('metadata filters on the account list', () => {
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
    const plan = (
      await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${ACCOUNT_LIST_SQL}`, [
        null,
        null,
        null,
        null,
        51,
        null,
        null,
        null,
        JSON.stringify({ tier: 'rare' }),
      ])
    ).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).toContain('accounts_metadata_idx');
    expect(plan).not.toContain('Seq Scan');
  });
});
