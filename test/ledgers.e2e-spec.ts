import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { ledgerViolations, rowCounts } from './support/invariants.js';
import { balances, createAccount, fundingSource, transfer } from './support/ledger.js';

const DEFAULT_LEDGER = '00000000-0000-4000-8000-000000000001';

// Ledgers (SPEC 9): independent books. Accounts belong to one; money never moves between two; lists, the journal,
// the export and the trial balance can be asked for one ledger alone.
describe('ledgers', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin, auditor } = await tokensByRole(t));
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
  async function newLedger(name = unique('books')): Promise<any> {
    const res = await t.request('POST', '/v1/ledgers', { token: admin, body: { name } });
    if (res.status !== 201) throw new Error(`ledger creation failed: ${res.status} ${res.text}`);
    return res.body;
  }

  describe('the resource', () => {
    it('has a default ledger, found by id or by name', async () => {
      for (const ref of ['default', DEFAULT_LEDGER]) {
        const res = await t.request('GET', `/v1/ledgers/${ref}`, { token: auditor });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: DEFAULT_LEDGER, name: 'default', closedUntil: null, createdBy: null });
      }
    });

    it('is created by an admin, with who created it, and listed', async () => {
      const name = unique('payments');
      const res = await t.request('POST', '/v1/ledgers', {
        token: admin,
        body: { name, description: 'card payments', metadata: { entity: 'eu' } },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name,
        description: 'card payments',
        metadata: { entity: 'eu' },
        closedUntil: null,
        createdBy: { type: 'user', id: expect.any(String), name: expect.any(String) },
        createdAt: expect.any(String),
      });
      const list = await t.request('GET', '/v1/ledgers?limit=500', { token: op });
      expect(list.status).toBe(200);
      expect(list.body.data.map((l: any) => l.name)).toEqual(expect.arrayContaining(['default', name]));
      const patched = await t.request('PATCH', `/v1/ledgers/${name}`, { token: admin, body: { description: 'cards' } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: res.body.id, description: 'cards', metadata: { entity: 'eu' } });
    });

    it('refuses a taken name (409), a malformed or UUID-shaped one (400), and other roles (403)', async () => {
      const { name } = await newLedger();
      const taken = await t.request('POST', '/v1/ledgers', { token: admin, body: { name } });
      expect([taken.status, taken.body.code]).toEqual([409, 'DUPLICATE_LEDGER_NAME']);
      for (const bad of ['Upper', '-lead', 'a b', 'x'.repeat(64), randomUUID(), '', 'default\u0000']) {
        const res = await t.request('POST', '/v1/ledgers', { token: admin, body: { name: bad } });
        expect([bad, res.status, res.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
      }
      const byOperator = await t.request('POST', '/v1/ledgers', { token: op, body: { name: unique('op') } });
      expect(byOperator.status).toBe(403);
    });

    it('answers 404 for a ledger that does not exist, by id or name', async () => {
      for (const ref of [randomUUID(), 'no-such-ledger']) {
        const res = await t.request('GET', `/v1/ledgers/${ref}`, { token: op });
        expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
      }
    });
  });

  describe('accounts and movements', () => {
    it('opens an account in the ledger named by id or name, in default without one, and refuses an unknown one', async () => {
      const ledger = await newLedger();
      expect((await createAccount(t, op, { ledgerId: ledger.name })).ledgerId).toBe(ledger.id);
      expect((await createAccount(t, op, { ledgerId: ledger.id })).ledgerId).toBe(ledger.id);
      expect((await createAccount(t, op)).ledgerId).toBe(DEFAULT_LEDGER);
      const before = await rowCounts(t.databaseUrl);
      for (const ledgerId of ['no-such-ledger', randomUUID()]) {
        const res = await t.request('POST', '/v1/accounts', {
          token: op,
          body: { currency: 'USD', normalBalance: 'credit', ledgerId },
        });
        expect([res.status, res.body.code]).toEqual([422, 'LEDGER_NOT_FOUND']);
      }
      expect(await rowCounts(t.databaseUrl)).toEqual(before);
    });

    it('keeps an externalId unique within a ledger, not across ledgers', async () => {
      const [a, b] = [await newLedger(), await newLedger()];
      const externalId = unique('cust');
      await createAccount(t, op, { ledgerId: a.id, externalId });
      await createAccount(t, op, { ledgerId: b.id, externalId });
      const again = await t.request('POST', '/v1/accounts', {
        token: op,
        body: { currency: 'USD', normalBalance: 'credit', ledgerId: a.id, externalId },
      });
      expect([again.status, again.body.code]).toEqual([409, 'DUPLICATE_EXTERNAL_ID']);

      const [fa, fb] = [await fundingSource(t, op, 'USD', a.id), await fundingSource(t, op, 'USD', b.id)];
      const [xa, xb] = [await createAccount(t, op, { ledgerId: a.id }), await createAccount(t, op, { ledgerId: b.id })];
      const ref = unique('pay');
      const first = await transfer(t, op, {
        debitAccountId: fa.source.id,
        creditAccountId: xa.id,
        amount: '1',
        externalId: ref,
      });
      const other = await transfer(t, op, {
        debitAccountId: fb.source.id,
        creditAccountId: xb.id,
        amount: '1',
        externalId: ref,
      });
      expect([first.status, other.status]).toEqual([201, 201]);
      expect([first.body.ledgerId, other.body.ledgerId]).toEqual([a.id, b.id]);
      const dup = await transfer(t, op, {
        debitAccountId: fa.source.id,
        creditAccountId: xa.id,
        amount: '1',
        externalId: ref,
      });
      expect([dup.status, dup.body.code]).toEqual([409, 'DUPLICATE_EXTERNAL_ID']);
    });

    it('refuses a transfer, a batch item or a posting across ledgers with LEDGER_MISMATCH, writing nothing', async () => {
      const [a, b] = [await newLedger(), await newLedger()];
      const fa = await fundingSource(t, op, 'USD', a.id);
      const xa = await createAccount(t, op, { ledgerId: a.id });
      const xb = await createAccount(t, op, { ledgerId: b.id });
      await fa.fund(xa.id, '100');
      const before = await rowCounts(t.databaseUrl);
      const single = await transfer(t, op, { debitAccountId: xa.id, creditAccountId: xb.id, amount: '5' });
      expect([single.status, single.body.code]).toEqual([422, 'LEDGER_MISMATCH']);
      const batch = await t.request('POST', '/v1/transfers/batch', {
        token: op,
        body: {
          transfers: [
            { debitAccountId: fa.source.id, creditAccountId: xa.id, amount: '5', currency: 'USD' },
            {
              debitAccountId: xb.id,
              creditAccountId: xb.id === xa.id ? fa.source.id : (await createAccount(t, op, { ledgerId: b.id })).id,
              amount: '1',
              currency: 'USD',
            },
          ],
        },
      });
      // The batch is in its first transfer's ledger: the second, wholly in another ledger, is refused by its index.
      expect([batch.status, batch.body.code, batch.body.index]).toEqual([422, 'LEDGER_MISMATCH', 1]);
      const pending = await transfer(t, op, {
        debitAccountId: xa.id,
        creditAccountId: xb.id,
        amount: '5',
        pending: true,
      });
      expect([pending.status, pending.body.code]).toEqual([422, 'LEDGER_MISMATCH']);
      // One more account was created above; nothing else changed.
      expect({ ...(await rowCounts(t.databaseUrl)), accounts: before.accounts }).toEqual(before);
      expect((await balances(t, op, xa.id)).posted).toBe('100');
    });

    it('keeps a reversal in the ledger of the transfer it reverses', async () => {
      const a = await newLedger();
      const fa = await fundingSource(t, op, 'USD', a.id);
      const xa = await createAccount(t, op, { ledgerId: a.id });
      const tr = await transfer(t, op, { debitAccountId: fa.source.id, creditAccountId: xa.id, amount: '9' });
      const rev = await t.request('POST', `/v1/transfers/${tr.body.id}/reverse`, { token: op, body: { amount: '4' } });
      expect(rev.status).toBe(201);
      expect(rev.body.ledgerId).toBe(a.id);
    });
  });

  describe('reading one ledger', () => {
    it('filters accounts, transfers, the journal, the export and the trial balance by ledger', async () => {
      const a = await newLedger();
      const fa = await fundingSource(t, op, 'EUR', a.id);
      const xa = await createAccount(t, op, { ledgerId: a.id, currency: 'EUR' });
      await fa.fund(xa.id, '30');
      await fa.fund(xa.id, '12');
      // Traffic elsewhere that must not show.
      const fd = await fundingSource(t, op, 'EUR');
      await fd.fund((await createAccount(t, op, { currency: 'EUR' })).id, '7');

      for (const ref of [a.id, a.name]) {
        const accounts = await t.request('GET', `/v1/accounts?ledgerId=${ref}`, { token: auditor });
        expect(accounts.body.data.map((x: any) => x.id).sort()).toEqual([fa.source.id, xa.id].sort());
        const transfers = await t.request('GET', `/v1/transfers?ledgerId=${ref}`, { token: auditor });
        expect(transfers.body.data.map((x: any) => x.amount)).toEqual(['30', '12']);
        const entries = await t.request('GET', `/v1/ledger/entries?ledgerId=${ref}&limit=500`, { token: auditor });
        expect(entries.body.data).toHaveLength(4);
        expect(entries.body.data.every((e: any) => e.ledgerId === a.id)).toBe(true);
        const exported = await t.request('GET', `/v1/ledger/export?format=ndjson&ledgerId=${ref}`, { token: auditor });
        const lines = exported.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines.map((e) => e.id)).toEqual(entries.body.data.map((e: any) => e.id));
        const tb = await t.request('GET', `/v1/audit/trial-balance?ledgerId=${ref}`, { token: auditor });
        expect(tb.body.currencies).toEqual([
          {
            ledgerId: a.id,
            currency: 'EUR',
            totalDebits: '42',
            totalCredits: '42',
            balanced: true,
            accountCount: 2,
            byType: [{ type: 'unclassified', totalDebits: '42', totalCredits: '42', accountCount: 2 }],
          },
        ]);
      }
      // Without the filter, every ledger's rows, each row naming its ledger.
      const all = await t.request('GET', '/v1/audit/trial-balance', { token: auditor });
      const ledgers = new Set(all.body.currencies.map((c: any) => c.ledgerId));
      expect(ledgers).toEqual(new Set([a.id, DEFAULT_LEDGER, ...ledgers]));
      expect(all.body.currencies.every((c: any) => c.balanced)).toBe(true);
    });

    it('verifies one ledger alone: its own counts, conservation per ledger, and tampering elsewhere not its concern', async () => {
      const [a, b] = [await newLedger(), await newLedger()];
      const fa = await fundingSource(t, op, 'USD', a.id);
      const fb = await fundingSource(t, op, 'USD', b.id);
      const xa = await createAccount(t, op, { ledgerId: a.id });
      const xb = await createAccount(t, op, { ledgerId: b.id });
      await fa.fund(xa.id, '10');
      await fb.fund(xb.id, '20');
      await fb.fund(xb.id, '5');
      const verify = async (ref?: string): Promise<any> =>
        (await t.request('GET', `/v1/audit/verify${ref === undefined ? '' : `?ledgerId=${ref}`}`, { token: auditor }))
          .body;
      expect(await verify(a.name)).toEqual({
        ok: true,
        checkedAccounts: 2,
        checkedEntries: 2,
        checkedTransfers: 1,
        checkedTransactions: 0,
        // The ledger's own records: it was created, then its two accounts.
        checkedLogRecords: 3,
        problems: [],
      });
      expect(await verify(b.id)).toMatchObject({
        ok: true,
        checkedAccounts: 2,
        checkedEntries: 4,
        checkedTransfers: 2,
      });
      const all = await verify();
      expect(all.ok).toBe(true);
      expect(all.checkedEntries).toBeGreaterThanOrEqual(6);
      // An entry of b altered behind the service's back (triggers off): b's books and the whole fail, a's do not.
      const db = await connect(t.databaseUrl);
      try {
        await db.query(`SET session_replication_role = replica`);
        await db.query(`UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = $1 AND account_version = 2`, [
          xb.id,
        ]);
        expect(await verify(a.id)).toMatchObject({ ok: true, problems: [] });
        const broken = await verify(b.id);
        expect(broken.ok).toBe(false);
        expect(broken.problems.map((p: any) => p.code)).toContain('HASH_MISMATCH');
        const unbalanced = broken.problems.find((p: any) => p.code === 'UNBALANCED_CURRENCY');
        expect(unbalanced).toMatchObject({ ledgerId: b.id });
        expect((await verify()).ok).toBe(false);
        await db.query(`UPDATE ledger_entries SET amount = amount - 1 WHERE account_id = $1 AND account_version = 2`, [
          xb.id,
        ]);
      } finally {
        await db.end();
      }
      expect((await verify(b.id)).ok).toBe(true);
      // Conservation per ledger: each ledger's trial balance balances on its own.
      for (const l of [a, b]) {
        const tb = await t.request('GET', `/v1/audit/trial-balance?ledgerId=${l.id}`, { token: auditor });
        expect(tb.body.currencies).toEqual([
          expect.objectContaining({ ledgerId: l.id, currency: 'USD', balanced: true, accountCount: 2 }),
        ]);
      }
    });

    it('answers a filter naming an unknown ledger as any unknown id: with nothing', async () => {
      for (const path of ['/v1/accounts', '/v1/transfers', '/v1/ledger/entries']) {
        const res = await t.request('GET', `${path}?ledgerId=no-such-ledger`, { token: auditor });
        expect([path, res.status, res.body.data]).toEqual([path, 200, []]);
      }
      const tb = await t.request('GET', `/v1/audit/trial-balance?ledgerId=${randomUUID()}`, { token: auditor });
      expect(tb.body.currencies).toEqual([]);
    });
  });
});
