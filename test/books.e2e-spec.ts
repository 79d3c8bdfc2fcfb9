import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { fundingSource, transfer } from './support/ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the books (SPEC 12)', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin, auditor } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  const open = (body: Record<string, unknown>) =>
    t.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', ...body } });

  describe('account types', () => {
    it('give assets and expenses a debit normal balance, the others a credit one, when it is left out', async () => {
      for (const [type, side] of [
        ['asset', 'debit'],
        ['liability', 'credit'],
        ['equity', 'credit'],
        ['revenue', 'credit'],
        ['expense', 'debit'],
      ] as const) {
        const res = await open({ type });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ type, normalBalance: side });
        const agreeing = await open({ type, normalBalance: side });
        expect(agreeing.body).toMatchObject({ type, normalBalance: side });
        expect((await t.request('GET', `/v1/accounts/${res.body.id}`, { token: op })).body.type).toBe(type);
      }
    });

    it('refuses a normal balance that contradicts the type, an unknown type, and neither given (400)', async () => {
      for (const body of [
        { type: 'asset', normalBalance: 'credit' },
        { type: 'revenue', normalBalance: 'debit' },
        { type: 'income' },
        { type: 'unclassified', normalBalance: 'debit' },
        {},
      ]) {
        const res = await open(body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({
          body,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
      }
      const contradiction = await open({ type: 'asset', normalBalance: 'credit' });
      expect(contradiction.body.errors).toEqual([
        { field: 'normalBalance', message: expect.stringContaining('debit-normal') },
      ]);
    });

    it('shows an account without a type as unclassified, as accounts made before types are', async () => {
      const res = await open({ normalBalance: 'credit' });
      expect(res.body.type).toBe('unclassified');
    });

    it('is held by the database too: a type and a normal balance that disagree cannot be stored', async () => {
      const res = await open({ type: 'asset' });
      const db = await connect(t.databaseUrl);
      try {
        await expect(db.query(`UPDATE accounts SET type = 'revenue' WHERE id = $1`, [res.body.id])).rejects.toThrow(
          /accounts_type_check/,
        );
      } finally {
        await db.end();
      }
    });
  });
  it('splits each trial balance row by account type, in chart order, unclassified last', async () => {
    const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `tb-${Date.now()}` } })).body;
    const make = async (body: Record<string, unknown>) => (await open({ ledgerId: ledger.id, ...body })).body;
    const [cash, sales, equity, loose] = [
      await make({ type: 'asset', allowNegative: true }),
      await make({ type: 'revenue' }),
      await make({ type: 'equity' }),
      await make({ normalBalance: 'credit' }),
    ];
    for (const [debit, credit, amount] of [
      [cash, sales, '100'],
      [cash, equity, '50'],
      [cash, loose, '7'],
    ] as const) {
      const res = await transfer(t, op, { debitAccountId: debit.id, creditAccountId: credit.id, amount });
      expect(res.status).toBe(201);
    }
    const tb = (await t.request('GET', `/v1/audit/trial-balance?ledgerId=${ledger.id}`, { token: auditor })).body;
    expect(tb.currencies).toEqual([
      {
        ledgerId: ledger.id,
        currency: 'USD',
        totalDebits: '157',
        totalCredits: '157',
        balanced: true,
        accountCount: 4,
        byType: [
          { type: 'asset', totalDebits: '157', totalCredits: '0', accountCount: 1 },
          { type: 'equity', totalDebits: '0', totalCredits: '50', accountCount: 1 },
          { type: 'revenue', totalDebits: '0', totalCredits: '100', accountCount: 1 },
          { type: 'unclassified', totalDebits: '0', totalCredits: '7', accountCount: 1 },
        ],
      },
    ]);
  });

  describe('categories', () => {
    const category = async (body: Record<string, unknown>) => {
      const res = await t.request('POST', '/v1/categories', { token: admin, body });
      expect(res.status).toBe(201);
      return res.body;
    };
    const member = (id: string, accountId: string) =>
      t.request('PUT', `/v1/categories/${id}/accounts/${accountId}`, { token: admin });
    const balanceOf = async (id: string, asOf?: string) =>
      (
        await t.request('GET', `/v1/categories/${id}/balance${asOf === undefined ? '' : `?asOf=${asOf}`}`, {
          token: auditor,
        })
      ).body;
    /** An account's posted counters recomputed from its entries, independently of the service's counters. */
    const postedOf = async (id: string) => {
      const entries = (await t.request('GET', `/v1/accounts/${id}/entries?limit=500`, { token: auditor })).body.data;
      let [d, c] = [0n, 0n];
      for (const e of entries) {
        if (e.direction === 'debit') d += BigInt(e.amount);
        else c += BigInt(e.amount);
      }
      return { d, c };
    };

    it('roll up a tree with a diamond, counting an account in two branches once, per currency and as of an instant', async () => {
      const usd = await fundingSource(t, op);
      const eur = await fundingSource(t, op, 'EUR');
      const open2 = async (currency: string) => (await open({ currency, type: 'asset' })).body;
      const [x, y, z, w] = [await open2('USD'), await open2('USD'), await open2('USD'), await open2('EUR')];
      // Assets (debit) ← Cash (x, y) and Receivables (x, z); w (EUR) directly in Assets.
      const assets = await category({ name: 'Assets', normalBalance: 'debit' });
      const cash = await category({ name: 'Cash', normalBalance: 'debit', parentId: assets.id });
      const receivables = await category({ name: 'Receivables', normalBalance: 'debit', parentId: assets.id });
      for (const [c, a] of [
        [cash, x],
        [cash, y],
        [receivables, x],
        [receivables, z],
        [assets, w],
      ]) {
        expect((await member(c.id, a.id)).status).toBe(204);
      }
      expect((await member(cash.id, x.id)).status).toBe(204); // again: nothing changes
      // Money into the asset accounts: each is debited, the funding source credited.
      const move = async (from: any, to: any, amount: string, currency: string) => {
        const res = await transfer(t, op, { debitAccountId: to.id, creditAccountId: from.id, amount, currency });
        expect(res.status).toBe(201);
      };
      await move(usd.source, x, '100', 'USD');
      await move(usd.source, y, '20', 'USD');
      await move(usd.source, z, '3', 'USD');
      await move(eur.source, w, '7', 'EUR');
      await sleep(5);
      const between = new Date().toISOString();
      await sleep(5);
      await move(usd.source, x, '1000', 'USD');

      const expected = async (accounts: any[]) => {
        const byCurrency = new Map<string, { d: bigint; c: bigint }>();
        for (const a of accounts) {
          const p = await postedOf(a.id);
          const sum = byCurrency.get(a.currency) ?? { d: 0n, c: 0n };
          byCurrency.set(a.currency, { d: sum.d + p.d, c: sum.c + p.c });
        }
        return [...byCurrency]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, { d, c }]) => ({
            currency,
            debitsPosted: String(d),
            creditsPosted: String(c),
            posted: String(d - c),
          }));
      };
      const root = await balanceOf(assets.id);
      expect(root).toMatchObject({ categoryId: assets.id, currencies: await expected([x, y, z, w]) });
      expect(root.currencies).toEqual([
        { currency: 'EUR', debitsPosted: '7', creditsPosted: '0', posted: '7' },
        { currency: 'USD', debitsPosted: '1123', creditsPosted: '0', posted: '1123' },
      ]);
      expect((await balanceOf(cash.id)).currencies).toEqual(await expected([x, y]));
      expect((await balanceOf(receivables.id)).currencies).toEqual(await expected([x, z]));
      expect((await balanceOf(assets.id, between)).currencies).toEqual([
        { currency: 'EUR', debitsPosted: '7', creditsPosted: '0', posted: '7' },
        { currency: 'USD', debitsPosted: '123', creditsPosted: '0', posted: '123' },
      ]);
      // On a credit-normal category the same accounts show negative.
      const mirror = await category({ name: 'Mirror', normalBalance: 'credit' });
      await member(mirror.id, y.id);
      expect((await balanceOf(mirror.id)).currencies).toEqual([
        { currency: 'USD', debitsPosted: '20', creditsPosted: '0', posted: '-20' },
      ]);
      const shown = (await t.request('GET', `/v1/categories/${cash.id}`, { token: op })).body;
      expect(shown).toMatchObject({ parentId: assets.id, accountIds: [x.id, y.id].sort() });
    });

    it('refuse a cycle, a parent or an account of another ledger, and unknown ones', async () => {
      const a = await category({ name: 'A', normalBalance: 'credit' });
      const b = await category({ name: 'B', normalBalance: 'credit', parentId: a.id });
      const c = await category({ name: 'C', normalBalance: 'credit', parentId: b.id });
      for (const [id, parentId] of [
        [a.id, c.id],
        [a.id, b.id],
        [b.id, b.id],
      ]) {
        const res = await t.request('PATCH', `/v1/categories/${id}`, { token: admin, body: { parentId } });
        expect([res.status, res.body.code]).toEqual([422, 'CATEGORY_CYCLE']);
      }
      const moved = await t.request('PATCH', `/v1/categories/${c.id}`, {
        token: admin,
        body: { parentId: null, name: 'C2' },
      });
      expect(moved.body).toMatchObject({ parentId: null, name: 'C2' });
      expect(
        (await t.request('PATCH', `/v1/categories/${a.id}`, { token: admin, body: { parentId: c.id } })).status,
      ).toBe(200);

      const other = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `books-${Date.now()}` } }))
        .body;
      const elsewhere = await category({ ledgerId: other.id, name: 'Elsewhere', normalBalance: 'debit' });
      const foreign = (await open({ ledgerId: other.id, type: 'asset' })).body;
      const under = await t.request('POST', '/v1/categories', {
        token: admin,
        body: { name: 'x', normalBalance: 'debit', parentId: elsewhere.id },
      });
      expect([under.status, under.body.code]).toEqual([422, 'LEDGER_MISMATCH']);
      const res = await member(a.id, foreign.id);
      expect([res.status, res.body.code]).toEqual([422, 'LEDGER_MISMATCH']);
      expect((await member(a.id, crypto.randomUUID())).status).toBe(404);
      expect((await member(crypto.randomUUID(), foreign.id)).status).toBe(404);
      expect((await t.request('GET', `/v1/categories/${crypto.randomUUID()}`, { token: op })).status).toBe(404);
      const operatorRefused = await t.request('POST', '/v1/categories', {
        token: op,
        body: { name: 'x', normalBalance: 'debit' },
      });
      expect(operatorRefused.status).toBe(403);
    });

    it('are written to the administrative log, before and after as GET shows them', async () => {
      const made = await category({ name: 'Logged', normalBalance: 'debit' });
      const account = (await open({ type: 'asset' })).body;
      await member(made.id, account.id);
      const log = (
        await t.request('GET', `/v1/audit/log?resourceType=category&resourceId=${made.id}`, { token: auditor })
      ).body.data;
      expect(log.map((r: any) => r.action)).toEqual(['category.created', 'category.updated']);
      expect(log[0]).toMatchObject({ before: null, after: made });
      expect(log[1].after).toEqual((await t.request('GET', `/v1/categories/${made.id}`, { token: op })).body);
      expect(log[1].before.accountIds).toEqual([]);
    });
  });
  describe('reports', () => {
    it('print a balance sheet that balances and an income statement over a period, by category', async () => {
      const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `rep-${Date.now()}` } }))
        .body;
      const make = async (type: string, name: string) =>
        (await open({ ledgerId: ledger.id, type, name, allowNegative: true })).body;
      const cash = await make('asset', 'cash');
      const bank = await make('asset', 'bank');
      const loan = await make('liability', 'loan');
      const capital = await make('equity', 'capital');
      const sales = await make('revenue', 'sales');
      const fees = await make('revenue', 'fees');
      const rent = await make('expense', 'rent');
      const book = async (debit: any, credit: any, amount: string) => {
        const res = await transfer(t, op, { debitAccountId: debit.id, creditAccountId: credit.id, amount });
        expect(res.status).toBe(201);
      };
      const current = (
        await t.request('POST', '/v1/categories', {
          token: admin,
          body: { ledgerId: ledger.id, name: 'Current assets', normalBalance: 'debit' },
        })
      ).body;
      const income = (
        await t.request('POST', '/v1/categories', {
          token: admin,
          body: { ledgerId: ledger.id, name: 'Sales revenue', normalBalance: 'credit' },
        })
      ).body;
      for (const [c, a] of [
        [current, cash],
        [current, bank],
        [income, sales],
      ]) {
        await t.request('PUT', `/v1/categories/${c.id}/accounts/${a.id}`, { token: admin });
      }
      await book(cash, capital, '1000');
      await book(bank, loan, '500');
      await book(cash, sales, '300');
      await sleep(5);
      const mid = new Date().toISOString();
      await sleep(5);
      await book(bank, fees, '20');
      await book(rent, cash, '100');

      const sheet = (await t.request('GET', `/v1/reports/balance-sheet?ledgerId=${ledger.id}`, { token: auditor }))
        .body;
      expect(sheet).toMatchObject({
        ledgerId: ledger.id,
        currency: 'USD',
        assets: {
          total: '1720',
          categories: [{ id: current.id, name: 'Current assets', total: '1720', categories: [] }],
          accounts: [],
        },
        liabilities: { total: '500', categories: [], accounts: [{ accountId: loan.id, name: 'loan', balance: '500' }] },
        equity: { total: '1000', accounts: [{ accountId: capital.id, balance: '1000' }] },
        retainedEarnings: '220',
        balanced: true,
        unclassified: { total: '0', categories: [], accounts: [] },
      });
      // Every figure from the entries themselves: the assets' entries, debits less credits.
      let assets = 0n;
      for (const a of [cash, bank]) {
        for (const e of (await t.request('GET', `/v1/accounts/${a.id}/entries`, { token: auditor })).body.data) {
          assets += e.direction === 'debit' ? BigInt(e.amount) : -BigInt(e.amount);
        }
      }
      expect(sheet.assets.total).toBe(String(assets));
      const before = (
        await t.request('GET', `/v1/reports/balance-sheet?ledgerId=${ledger.id}&asOf=${mid}`, { token: auditor })
      ).body;
      expect(before).toMatchObject({ retainedEarnings: '300', balanced: true, assets: { total: '1800' } });

      const whole = (await t.request('GET', `/v1/reports/income-statement?ledgerId=${ledger.id}`, { token: op })).body;
      expect(whole).toMatchObject({
        from: null,
        currency: 'USD',
        revenue: {
          total: '320',
          categories: [{ id: income.id, total: '300' }],
          accounts: [{ accountId: fees.id, name: 'fees', balance: '20' }],
        },
        expense: { total: '100', accounts: [{ accountId: rent.id, balance: '100' }] },
        netIncome: '220',
      });
      const later = (
        await t.request('GET', `/v1/reports/income-statement?ledgerId=${ledger.id}&from=${mid}`, { token: op })
      ).body;
      expect(later).toMatchObject({ revenue: { total: '20' }, expense: { total: '100' }, netIncome: '-80' });
      const earlier = (
        await t.request('GET', `/v1/reports/income-statement?ledgerId=${ledger.id}&to=${mid}`, { token: op })
      ).body;
      expect(earlier).toMatchObject({ revenue: { total: '300' }, expense: { total: '0' }, netIncome: '300' });
    });

    it('ask for the currency when a ledger has several, and refuse an unknown ledger', async () => {
      await open({ currency: 'EUR', type: 'asset' });
      const res = await t.request('GET', '/v1/reports/balance-sheet', { token: auditor });
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      const eur = await t.request('GET', '/v1/reports/balance-sheet?currency=EUR', { token: auditor });
      // The EUR money came from an untyped funding account: outside the equation, so the sheet says it does not
      // balance, and shows where the difference sits.
      expect(eur.body).toMatchObject({
        currency: 'EUR',
        assets: { total: '7' },
        balanced: false,
        unclassified: { total: '-7', accounts: [{ balance: '-7' }] },
      });
      expect((await t.request('GET', '/v1/reports/income-statement?ledgerId=nowhere-1', { token: op })).status).toBe(
        404,
      );
    });
  });
  describe('closed periods', () => {
    it('close the books up to an instant, logged and checkpointed, refusing a period that is not after the last', async () => {
      const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `close-${Date.now()}` } }))
        .body;
      const a = (await open({ ledgerId: ledger.id, type: 'asset', allowNegative: true })).body;
      const b = (await open({ ledgerId: ledger.id, type: 'revenue' })).body;
      expect((await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '5' })).status).toBe(201);
      await sleep(5);
      const until = new Date().toISOString();
      const close = (body: unknown, token = admin) =>
        t.request('POST', `/v1/ledgers/${ledger.id}/close`, { token, body });
      const closed = await close({ until });
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ id: ledger.id, closedUntil: until });
      expect((await t.request('GET', `/v1/ledgers/${ledger.id}`, { token: op })).body.closedUntil).toBe(until);

      const log = (
        await t.request('GET', `/v1/audit/log?action=ledger.closed&resourceId=${ledger.id}`, { token: auditor })
      ).body.data;
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ before: { closedUntil: null }, after: { closedUntil: until } });
      // Checkpointed with the close: the tree holds the two entries recorded before it.
      const cps = (await t.request('GET', `/v1/audit/checkpoints?ledgerId=${ledger.id}`, { token: auditor })).body.data;
      expect(cps.map((c: any) => c.treeSize)).toEqual([2]);

      for (const [body, field] of [
        [{ until }, 'same'],
        [{ until: new Date(Date.parse(until) - 1000).toISOString() }, 'earlier'],
        [{ until: new Date(Date.now() + 60_000).toISOString() }, 'future'],
      ] as const) {
        const res = await close(body);
        expect({ field, status: res.status, code: res.body.code }).toEqual({
          field,
          status: 422,
          code: 'INVALID_PERIOD',
        });
      }
      expect((await close({})).status).toBe(400);
      expect((await close({ until }, op)).status).toBe(403);
      // A movement without an effective date is dated now, after the close: it goes through.
      expect((await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '6' })).status).toBe(201);
    });
  });
});
