import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { adminToken } from './support/auth.js';
import { connect } from './support/database.js';
import { createAccount, transfer } from './support/ledger.js';

// SPEC 10, API keys: made by an admin for a service, shown once, stored as a hash, sent as `Bearer lsk_…`.
describe('API keys', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  async function newKey(body: Record<string, unknown>): Promise<any> {
    const res = await t.request('POST', '/v1/api-keys', { token: admin, body: { name: 'svc', ...body } });
    if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${res.text}`);
    return res.body;
  }

  it('shows the key once, in the creation answer, and stores only its hash', async () => {
    const res = await t.request('POST', '/v1/api-keys', {
      token: admin,
      body: { name: 'payments-service', roles: ['operator'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'payments-service',
      roles: ['operator'],
      ledgers: null,
      expiresAt: null,
      createdBy: { type: 'user', id: expect.any(String), name: 'root-admin' },
      createdAt: expect.any(String),
      lastUsedAt: null,
      key: expect.stringMatching(/^lsk_[A-Za-z0-9_-]{43}$/),
    });
    const { key, ...shown } = res.body;
    const one = await t.request('GET', `/v1/api-keys/${shown.id}`, { token: admin });
    expect(one.body).toEqual(shown);
    const list = await t.request('GET', '/v1/api-keys?limit=500', { token: admin });
    expect(list.body.data).toContainEqual(shown);
    expect(list.text).not.toContain(key);
    const db = await connect(t.databaseUrl);
    try {
      const { rows } = await db.query(`SELECT to_jsonb(k)::text AS row FROM api_keys k WHERE id = $1`, [shown.id]);
      expect(rows[0].row).not.toContain(key.slice(4));
      expect(rows[0].row).toMatch(/"key_hash": "[0-9a-f]{64}"/);
    } finally {
      await db.end();
    }
  });

  it('answers a replayed creation without the key, and never stores it among idempotent answers', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    const body = { name: 'replayed', roles: ['auditor'] };
    const first = await t.request('POST', '/v1/api-keys', { token: admin, body, headers });
    const again = await t.request('POST', '/v1/api-keys', { token: admin, body, headers });
    expect(first.body.key).toMatch(/^lsk_/);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const { key, ...rest } = first.body;
    expect(again.body).toEqual(rest);
    const db = await connect(t.databaseUrl);
    try {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE response::text LIKE $1`, [
        `%${key.slice(4)}%`,
      ]);
      expect(rows[0].n).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('authenticates a service by its key, with its roles, and shows it in /v1/auth/me', async () => {
    const k = await newKey({ name: 'ledger-writer', roles: ['operator'] });
    const me = await t.request('GET', '/v1/auth/me', { token: k.key });
    expect(me.body).toEqual({ id: k.id, username: 'ledger-writer', roles: ['operator'], ledgers: null });
    const source = await createAccount(t, k.key, { normalBalance: 'debit', allowNegative: true });
    const target = await createAccount(t, k.key);
    const moved = await transfer(t, k.key, { debitAccountId: source.id, creditAccountId: target.id, amount: '5' });
    expect(moved.status).toBe(201);
    // Its roles hold: an operator key cannot manage users or read the journal.
    expect((await t.request('GET', '/v1/users', { token: k.key })).status).toBe(403);
    expect((await t.request('GET', '/v1/ledger/entries', { token: k.key })).status).toBe(403);
  });

  it('limits a key to its ledgers like a user', async () => {
    const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `keys-${Date.now()}` } }))
      .body;
    const k = await newKey({ roles: ['operator', 'auditor'], ledgers: [ledger.name] });
    expect(k.ledgers).toEqual([ledger.id]);
    const inside = await createAccount(t, k.key);
    expect(inside.ledgerId).toBe(ledger.id);
    const outside = await createAccount(t, admin);
    expect((await t.request('GET', `/v1/accounts/${outside.id}`, { token: k.key })).status).toBe(404);
    const unknown = await t.request('POST', '/v1/api-keys', {
      token: admin,
      body: { name: 'x', roles: ['auditor'], ledgers: ['no-such-ledger'] },
    });
    expect([unknown.status, unknown.body.code]).toEqual([422, 'LEDGER_NOT_FOUND']);
  });

  it('refuses a malformed, unknown, expired or revoked key with 401', async () => {
    const refused = async (token: string): Promise<void> => {
      const res = await t.request('GET', '/v1/auth/me', { token });
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    };
    await refused('lsk_');
    await refused('lsk_not-a-key');
    await refused(`lsk_${'A'.repeat(43)}`);
    const k = await newKey({ roles: ['auditor'], expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await t.request('GET', '/v1/auth/me', { token: k.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    await refused(k.key);
    const past = await t.request('POST', '/v1/api-keys', {
      token: admin,
      body: { name: 'x', roles: ['auditor'], expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect([past.status, past.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('stops a revoked key within 5 seconds on every instance', async () => {
    const second = await startTestApp({}, t.databaseUrl);
    try {
      const k = await newKey({ roles: ['auditor'] });
      for (const instance of [t, second]) {
        expect((await instance.request('GET', '/v1/auth/me', { token: k.key })).status).toBe(200);
      }
      const revoked = await t.request('DELETE', `/v1/api-keys/${k.id}`, { token: admin });
      expect([revoked.status, revoked.text]).toEqual([204, '']);
      const started = Date.now();
      for (const instance of [t, second]) {
        while ((await instance.request('GET', '/v1/auth/me', { token: k.key })).status !== 401) {
          expect(Date.now() - started).toBeLessThan(5000);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect((await t.request('GET', `/v1/api-keys/${k.id}`, { token: admin })).status).toBe(404);
      expect((await t.request('DELETE', `/v1/api-keys/${k.id}`, { token: admin })).status).toBe(404);
    } finally {
      await second.close();
    }
  });

  it('records when a key was last used, at most once a minute', async () => {
    const k = await newKey({ roles: ['auditor'] });
    await t.request('GET', '/v1/auth/me', { token: k.key });
    let seen: string | null = null;
    for (let i = 0; i < 50 && seen === null; i++) {
      seen = (await t.request('GET', `/v1/api-keys/${k.id}`, { token: admin })).body.lastUsedAt;
      if (seen === null) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).not.toBeNull();
    await t.request('GET', '/v1/auth/me', { token: k.key });
    await new Promise((r) => setTimeout(r, 200));
    expect((await t.request('GET', `/v1/api-keys/${k.id}`, { token: admin })).body.lastUsedAt).toBe(seen);
  });

  it('is managed by admins only, and not by one limited to some ledgers', async () => {
    const k = await newKey({ roles: ['admin'], ledgers: ['default'] });
    expect((await t.request('GET', '/v1/api-keys', { token: k.key })).status).toBe(403);
    const op = await newKey({ roles: ['operator'] });
    expect(
      (await t.request('POST', '/v1/api-keys', { token: op.key, body: { name: 'x', roles: ['admin'] } })).status,
    ).toBe(403);
  });
});
