import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';

describe('balance monitors (SPEC 13)', () => {
  let t: TestApp;
  let op: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, auditor } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  const open = async (body: object) =>
    (await t.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', ...body } })).body;
  const move = (from: string, to: string, amount: string, extra: object = {}) =>
    t.request('POST', '/v1/transfers', {
      token: op,
      body: { debitAccountId: from, creditAccountId: to, amount, currency: 'USD', ...extra },
    });
  const triggered = async (after: string): Promise<any[]> =>
    (await t.request('GET', `/v1/events?types=balance.monitor.triggered&after=${after}&limit=500`, { token: auditor }))
      .body.data;
  const mark = async (): Promise<string> => {
    let after = '0';
    for (;;) {
      const page = (await t.request('GET', `/v1/events?after=${after}&limit=500`, { token: auditor })).body;
      if (page.nextCursor === null) return page.lastSeq;
      after = page.nextCursor;
    }
  };

  it('writes one event each time a write turns the condition from false to true, with the balances it left', async () => {
    const funding = await open({ normalBalance: 'debit', allowNegative: true });
    const wallet = await open({ normalBalance: 'credit' });
    const shop = await open({ normalBalance: 'credit' });
    expect((await move(funding.id, wallet.id, '500')).status).toBe(201);
    const created = await t.request('POST', '/v1/balance-monitors', {
      token: op,
      body: { accountId: wallet.id, condition: { available: { lt: '100' } }, description: 'low wallet' },
    });
    expect(created.status).toBe(201);
    const monitor = created.body;
    expect(monitor).toMatchObject({
      accountId: wallet.id,
      ledgerId: wallet.ledgerId,
      condition: { available: { lt: '100' } },
      description: 'low wallet',
    });
    const since = await mark();

    expect((await move(wallet.id, shop.id, '350')).status).toBe(201); // 150: still false
    expect((await move(wallet.id, shop.id, '100')).status).toBe(201); // 50: turns true
    const first = await triggered(since);
    expect(first).toHaveLength(1);
    const shown = (await t.request('GET', `/v1/accounts/${wallet.id}`, { token: op })).body;
    expect(first[0].data).toEqual({
      monitor: {
        id: monitor.id,
        accountId: wallet.id,
        condition: { available: { lt: '100' } },
        description: 'low wallet',
      },
      accountId: wallet.id,
      version: shown.version,
      balances: shown.balances,
    });
    expect(first[0].ledgerId).toBe(wallet.ledgerId);

    expect((await move(wallet.id, shop.id, '10')).status).toBe(201); // 40: still true, no event
    expect((await move(wallet.id, shop.id, '1000')).status).toBe(422); // refused: nothing
    expect(
      (
        await t.request('POST', '/v1/transfers?dryRun=true', {
          token: op,
          body: { debitAccountId: funding.id, creditAccountId: wallet.id, amount: '1', currency: 'USD' },
        })
      ).status,
    ).toBe(200);
    expect(await triggered(since)).toHaveLength(1);

    expect((await move(funding.id, wallet.id, '300')).status).toBe(201); // 340: false again
    // A reservation lowers available: 40 left, true again, on a pending transfer alone.
    const hold = await move(wallet.id, shop.id, '300', { pending: true });
    expect(hold.status).toBe(201);
    const second = await triggered(since);
    expect(second).toHaveLength(2);
    expect(second[1].data.balances).toMatchObject({ posted: '340', available: '40' });

    // A posted-balance monitor does not see the reservation; deleted, a monitor is silent.
    expect((await t.request('DELETE', `/v1/balance-monitors/${monitor.id}`, { token: op })).status).toBe(204);
    expect((await t.request('GET', `/v1/balance-monitors/${monitor.id}`, { token: op })).status).toBe(404);
    expect((await t.request('POST', `/v1/transfers/${hold.body.id}/void`, { token: op })).status).toBe(200);
    expect((await move(wallet.id, shop.id, '300')).status).toBe(201);
    expect(await triggered(since)).toHaveLength(2);
  });

  it('fires only on watched accounts: two monitors on one, each on its own, and none once both are deleted', async () => {
    const funding = await open({ normalBalance: 'debit', allowNegative: true });
    const wallet = await open({ normalBalance: 'credit' });
    const db = await connect(t.databaseUrl);
    const monitored = async (): Promise<boolean> =>
      (await db.query(`SELECT monitored FROM accounts WHERE id = $1`, [wallet.id])).rows[0].monitored;
    const watch = async (gte: string): Promise<string> => {
      const res = await t.request('POST', '/v1/balance-monitors', {
        token: op,
        body: { accountId: wallet.id, condition: { posted: { gte } } },
      });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    try {
      expect(await monitored()).toBe(false);
      const low = await watch('100');
      const high = await watch('1000');
      expect(await monitored()).toBe(true);
      const since = await mark();
      expect((await move(funding.id, wallet.id, '2000')).status).toBe(201); // both turn true in one write
      expect((await triggered(since)).map((e) => e.data.monitor.id)).toEqual([low, high]);

      expect((await t.request('DELETE', `/v1/balance-monitors/${low}`, { token: op })).status).toBe(204);
      expect(await monitored()).toBe(true);
      expect((await move(wallet.id, funding.id, '1950')).status).toBe(201); // 50: both false
      expect((await move(funding.id, wallet.id, '2000')).status).toBe(201); // 2050: only `high` is left to fire
      expect((await triggered(since)).map((e) => e.data.monitor.id)).toEqual([low, high, high]);

      expect((await t.request('DELETE', `/v1/balance-monitors/${high}`, { token: op })).status).toBe(204);
      expect(await monitored()).toBe(false);
      expect((await move(wallet.id, funding.id, '2000')).status).toBe(201);
      expect((await move(funding.id, wallet.id, '2000')).status).toBe(201);
      expect(await triggered(since)).toHaveLength(3);
    } finally {
      await db.end();
    }
  });

  it('lists, shows and refuses as SPEC 13 says', async () => {
    const account = await open({ normalBalance: 'debit', allowNegative: true });
    const made = await t.request('POST', '/v1/balance-monitors', {
      token: op,
      body: { accountId: account.id, condition: { posted: { gte: '-5' } } },
    });
    expect(made.status).toBe(201);
    const list = await t.request('GET', `/v1/balance-monitors?accountId=${account.id}`, { token: auditor });
    expect(list.body.data).toEqual([made.body]);
    expect((await t.request('GET', `/v1/balance-monitors/${made.body.id}`, { token: auditor })).body).toEqual(
      made.body,
    );
    const unknown = await t.request('POST', '/v1/balance-monitors', {
      token: op,
      body: { accountId: '5d8c2a7e-0f4b-4c1e-9a3d-6b2f1e0c9a87', condition: { posted: { lt: '1' } } },
    });
    expect([unknown.status, unknown.body.code]).toEqual([422, 'ACCOUNT_NOT_FOUND']);
    for (const condition of [
      {},
      { posted: { lt: '1' }, available: { lt: '1' } },
      { posted: { lt: '1', gt: '0' } },
      { pending: { lt: '1' } },
      { posted: { eq: '1' } },
      { posted: { lt: 1 } },
      { posted: { lt: '1.5' } },
    ]) {
      const res = await t.request('POST', '/v1/balance-monitors', {
        token: op,
        body: { accountId: account.id, condition },
      });
      expect({ condition, status: res.status }).toEqual({ condition, status: 400 });
    }
  });
});
