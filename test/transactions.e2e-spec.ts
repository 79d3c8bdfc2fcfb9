import { randomUUID } from 'node:crypto';
import { type Reply, startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { ledgerViolations, rowCounts } from './support/invariants.js';
import { balances, createAccount, fundingSource, transfer } from './support/ledger.js';

type Dir = 'debit' | 'credit';
const without = (o: Record<string, unknown>, keys: string[]): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const leg = (accountId: string, direction: Dir, amount: string, extra: Record<string, unknown> = {}) => ({
  accountId,
  direction,
  amount,
  currency: 'USD',
  ...extra,
});

// SPEC 11: transactions of any number of postings, one balanced unit.
describe('transactions', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let funding: Awaited<ReturnType<typeof fundingSource>>;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin } = await tokensByRole(t));
    funding = await fundingSource(t, op);
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  const create = (body: Record<string, unknown>, options: { key?: string; query?: string } = {}): Promise<Reply> =>
    t.request('POST', `/v1/transactions${options.query ?? ''}`, {
      token: op,
      body,
      headers: options.key === undefined ? {} : { 'idempotency-key': options.key },
    });
  const action = (id: string, what: 'post' | 'void' | 'reverse', body: unknown = {}): Promise<Reply> =>
    t.request('POST', `/v1/transactions/${id}/${what}`, { token: op, body });

  async function funded(amount: string, options: Parameters<typeof createAccount>[2] = {}): Promise<string> {
    const a = await createAccount(t, op, options);
    if (amount !== '0') await funding.fund(a.id, amount);
    return a.id;
  }
  const account = async (options: Parameters<typeof createAccount>[2] = {}): Promise<string> =>
    (await createAccount(t, op, options)).id;

  /** Everything a refused write could have touched. */
  const snapshot = async (ids: string[]): Promise<unknown> => ({
    rows: await rowCounts(t.databaseUrl),
    accounts: await Promise.all(
      ids.map(async (id) => (await t.request('GET', `/v1/accounts/${id}`, { token: op })).body),
    ),
  });

  async function entriesOf(id: string): Promise<any[]> {
    const res = await t.request('GET', `/v1/accounts/${id}/entries?limit=200`, { token: op });
    expect(res.status).toBe(200);
    return res.body.data;
  }

  it('a fee split: one entry per posting in posting order, the accounts as they stood after it, and GET shows it', async () => {
    const payer = await funded('1000');
    const merchant = await account();
    const fees = await account();
    const body = {
      postings: [leg(payer, 'debit', '1000'), leg(merchant, 'credit', '970'), leg(fees, 'credit', '30')],
      description: 'card payment',
      externalId: `pay-${randomUUID()}`,
      metadata: { order: 'o-1' },
    };
    const res = await create(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'posted',
      postings: body.postings,
      description: 'card payment',
      externalId: body.externalId,
      metadata: { order: 'o-1' },
      reversalOf: null,
      reversedBy: null,
      expiresAt: null,
    });
    expect(res.body.effectiveAt).toBe(res.body.createdAt);
    expect(res.body.postedAt).toBe(res.body.createdAt);
    expect(res.body.accounts).toEqual([
      { accountId: payer, version: 2, balances: expect.objectContaining({ posted: '0', available: '0' }) },
      { accountId: merchant, version: 1, balances: expect.objectContaining({ posted: '970' }) },
      { accountId: fees, version: 1, balances: expect.objectContaining({ posted: '30' }) },
    ]);
    for (const a of res.body.accounts) {
      const now = await t.request('GET', `/v1/accounts/${a.accountId}`, { token: op });
      expect([now.body.version, now.body.balances]).toEqual([a.version, a.balances]);
    }
    const [payerEntry] = (await entriesOf(payer)).filter((e) => e.transferId === res.body.id);
    expect(payerEntry).toMatchObject({ direction: 'debit', amount: '1000', accountVersion: 2 });
    expect((await entriesOf(merchant)).map((e) => [e.transferId, e.amount])).toEqual([[res.body.id, '970']]);
    const got = await t.request('GET', `/v1/transactions/${res.body.id}`, { token: op });
    expect(got.body).toEqual(without(res.body, ['accounts']));
  });

  it('an FX transaction in three currencies balances each currency on its own', async () => {
    const usd = await funded('10000');
    const fxUsd = await account({ allowNegative: true });
    const fxEur = await account({ currency: 'EUR', allowNegative: true });
    const fxGbp = await account({ currency: 'GBP', allowNegative: true });
    const eur = await account({ currency: 'EUR' });
    const gbp = await account({ currency: 'GBP' });
    const postings = [
      leg(usd, 'debit', '10000'),
      leg(fxUsd, 'credit', '10000'),
      leg(fxEur, 'debit', '4600', { currency: 'EUR' }),
      leg(eur, 'credit', '4600', { currency: 'EUR' }),
      leg(fxGbp, 'debit', '3950', { currency: 'GBP' }),
      leg(gbp, 'credit', '3950', { currency: 'GBP' }),
    ];
    const res = await create({ postings });
    expect(res.status).toBe(201);
    expect(await balances(t, op, eur)).toMatchObject({ posted: '4600' });
    expect(await balances(t, op, gbp)).toMatchObject({ posted: '3950' });
    // Balanced in total, not per currency: refused, nothing written.
    const before = await snapshot([usd, eur]);
    const skewed = await create({ postings: [leg(usd, 'debit', '1'), leg(eur, 'credit', '1', { currency: 'EUR' })] });
    expect([skewed.status, skewed.body.code, skewed.body.index]).toEqual([422, 'UNBALANCED_TRANSACTION', undefined]);
    expect(await snapshot([usd, eur])).toEqual(before);
  });

  it('the same account debited twice: two entries chained in order, funds judged on the whole', async () => {
    const a = await funded('100');
    const b = await account();
    const res = await create({ postings: [leg(a, 'debit', '60'), leg(b, 'credit', '100'), leg(a, 'debit', '40')] });
    expect(res.status).toBe(201);
    const mine = (await entriesOf(a)).filter((e) => e.transferId === res.body.id);
    expect(mine.map((e) => [e.accountVersion, e.amount, e.balanceAfter])).toEqual([
      [2, '60', '40'],
      [3, '40', '0'],
    ]);
    expect(res.body.accounts[0]).toMatchObject({ accountId: a, version: 3 });
    // One more unit over the two debits: refused on a's first posting.
    await funding.fund(a, '100');
    const short = await create({ postings: [leg(b, 'credit', '101'), leg(a, 'debit', '60'), leg(a, 'debit', '41')] });
    expect([short.status, short.body.code, short.body.index]).toEqual([422, 'INSUFFICIENT_FUNDS', 1]);
  });

  it('100 postings in one transaction', async () => {
    const payer = await funded('9900');
    const payees = await Promise.all(Array.from({ length: 99 }, () => account()));
    const res = await create({
      postings: [leg(payer, 'debit', '9900'), ...payees.map((p) => leg(p, 'credit', '100'))],
    });
    expect(res.status).toBe(201);
    expect(res.body.postings).toHaveLength(100);
    expect(res.body.accounts).toHaveLength(100);
    expect(await balances(t, op, payees[98]!)).toMatchObject({ posted: '100' });
    const tooMany = await create({
      postings: [leg(payer, 'debit', '101'), ...Array.from({ length: 101 }, () => leg(payees[0]!, 'credit', '1'))],
    });
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const one = await create({ postings: [leg(payer, 'debit', '1')] });
    expect([one.status, one.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('every refusal names its posting and writes nothing', async () => {
    const a = await funded('500');
    const b = await account();
    const eur = await account({ currency: 'EUR' });
    const frozen = await account();
    expect(
      (await t.request('PATCH', `/v1/accounts/${frozen}`, { token: admin, body: { status: 'frozen' } })).status,
    ).toBe(200);
    const version = (await t.request('GET', `/v1/accounts/${a}`, { token: op })).body.version as number;
    const cases: [unknown[], number, string, number | undefined][] = [
      [[leg(a, 'debit', '5'), leg(b, 'credit', '4')], 422, 'UNBALANCED_TRANSACTION', undefined],
      [[leg(a, 'debit', '5'), leg(b, 'credit', '3'), leg(randomUUID(), 'credit', '2')], 422, 'ACCOUNT_NOT_FOUND', 2],
      [[leg(a, 'debit', '5'), leg(eur, 'credit', '5')], 422, 'CURRENCY_MISMATCH', 1],
      [[leg(a, 'debit', '5'), leg(b, 'credit', '1'), leg(frozen, 'credit', '4')], 422, 'ACCOUNT_NOT_ACTIVE', 2],
      [[leg(b, 'credit', '501'), leg(a, 'debit', '501')], 422, 'INSUFFICIENT_FUNDS', 1],
      [[leg(a, 'debit', '5'), leg(b, 'credit', '5', { lockVersion: 7 })], 409, 'ACCOUNT_VERSION_CONFLICT', 1],
      [
        [
          leg(a, 'debit', '5', { lockVersion: version, conditions: { available: { gte: '496' } } }),
          leg(b, 'credit', '5'),
        ],
        422,
        'BALANCE_CONDITION_FAILED',
        0,
      ],
    ];
    for (const [postings, status, code, index] of cases) {
      const before = await snapshot([a, b]);
      const key = randomUUID();
      const res = await create({ postings }, { key });
      expect([res.status, res.body.code, res.body.index]).toEqual([status, code, index]);
      expect(await snapshot([a, b])).toEqual(before);
      // A refusal under a key is kept like any answer: the retry gets it again, and still nothing is written.
      const again = await create({ postings }, { key });
      expect([again.status, again.body.code, again.headers['idempotent-replayed']]).toEqual([status, code, 'true']);
    }
    // Within its bounds, with the right version, it goes through.
    const ok = await create({
      postings: [
        leg(a, 'debit', '5', { lockVersion: version, conditions: { available: { gte: '495' } } }),
        leg(b, 'credit', '5'),
      ],
    });
    expect(ok.status).toBe(201);
    expect(ok.body.postings[0]).toEqual(
      leg(a, 'debit', '5', { lockVersion: version, conditions: { available: { gte: '495' } } }),
    );
  });

  it('a caller of another ledger is told the account does not exist', async () => {
    const a = await funded('10');
    const b = await account();
    const ledger = await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `tx-${Date.now()}` } });
    const username = `limited-${Date.now()}`;
    await t.request('POST', '/v1/users', {
      token: admin,
      body: { username, password: 'limited-password-1', roles: ['operator'], ledgers: [ledger.body.id] },
    });
    const login = await t.request('POST', '/v1/auth/token', { body: { username, password: 'limited-password-1' } });
    const res = await t.request('POST', '/v1/transactions', {
      token: login.body.accessToken,
      body: { postings: [leg(a, 'debit', '5'), leg(b, 'credit', '5')] },
    });
    expect([res.status, res.body.code, res.body.index]).toEqual([422, 'ACCOUNT_NOT_FOUND', 0]);
    const mine = await create({ postings: [leg(a, 'debit', '5'), leg(b, 'credit', '5')] });
    const seen = await t.request('GET', `/v1/transactions/${mine.body.id}`, { token: login.body.accessToken });
    expect(seen.status).toBe(404);
  });

  it('pending: reserves every posting; post enters them all, void and expiry release them', async () => {
    const a = await funded('300');
    const b = await account();
    const c = await account();
    const postings = [leg(a, 'debit', '100'), leg(b, 'credit', '70'), leg(c, 'credit', '30')];
    const held = await create({ postings, pending: true });
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: 'pending', postedAt: null });
    expect(held.body.accounts[0]).toMatchObject({
      version: 1,
      balances: { available: '200', posted: '300', debitsPending: '100' },
    });
    expect(await entriesOf(b)).toEqual([]);
    const posted = await action(held.body.id, 'post');
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ status: 'posted', postedBy: expect.objectContaining({ type: 'user' }) });
    expect(posted.body.accounts).toEqual([
      {
        accountId: a,
        version: 2,
        balances: expect.objectContaining({ posted: '200', available: '200', debitsPending: '0' }),
      },
      { accountId: b, version: 1, balances: expect.objectContaining({ posted: '70', creditsPending: '0' }) },
      { accountId: c, version: 1, balances: expect.objectContaining({ posted: '30' }) },
    ]);
    const again = await action(held.body.id, 'void');
    expect([again.status, again.body.code]).toEqual([409, 'TRANSFER_NOT_PENDING']);

    const voidable = await create({ postings, pending: true });
    const voided = await action(voidable.body.id, 'void');
    expect([voided.status, voided.body.status]).toEqual([200, 'voided']);
    expect(voided.body.accounts[0].balances).toMatchObject({ available: '200', debitsPending: '0' });

    const expiring = await create({ postings, pending: true, timeoutSeconds: 1 });
    expect(expiring.body.expiresAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1200));
    const late = await action(expiring.body.id, 'post');
    expect([late.status, late.body.code]).toEqual([409, 'TRANSFER_EXPIRED']);
    // The sweeper releases it within about a second more.
    let view: any;
    for (let i = 0; i < 40; i++) {
      view = (await t.request('GET', `/v1/accounts/${a}`, { token: op })).body;
      if (view.balances.debitsPending === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(view.balances).toMatchObject({ debitsPending: '0', available: '200' });
    const swept = await t.request('GET', `/v1/transactions/${expiring.body.id}`, { token: op });
    expect(swept.body).toMatchObject({ status: 'expired', voidedBy: { type: 'system' } });
  });

  it('reverse: once, as a new transaction with every direction flipped', async () => {
    const a = await funded('100');
    const b = await account();
    const c = await account();
    const original = await create({
      postings: [
        leg(a, 'debit', '100', { conditions: { available: { gte: '0' } } }),
        leg(b, 'credit', '60'),
        leg(c, 'credit', '40'),
      ],
    });
    const reversal = await action(original.body.id, 'reverse', { description: 'refund' });
    expect(reversal.status).toBe(201);
    expect(reversal.body).toMatchObject({
      status: 'posted',
      reversalOf: original.body.id,
      description: 'refund',
      postings: [leg(a, 'credit', '100'), leg(b, 'debit', '60'), leg(c, 'debit', '40')],
    });
    expect(reversal.body.accounts.map((x: any) => x.balances.posted)).toEqual(['100', '0', '0']);
    const shown = await t.request('GET', `/v1/transactions/${original.body.id}`, { token: op });
    expect(shown.body.reversedBy).toBe(reversal.body.id);
    const twice = await action(original.body.id, 'reverse');
    expect([twice.status, twice.body.code]).toEqual([409, 'ALREADY_REVERSED']);
    // A pending one has nothing posted to reverse.
    const pending = await create({ postings: [leg(a, 'debit', '1'), leg(b, 'credit', '1')], pending: true });
    const early = await action(pending.body.id, 'reverse');
    expect([early.status, early.body.code]).toEqual([422, 'REVERSAL_EXCEEDS_AMOUNT']);
  });

  it('Idempotency-Key: the replay answers the first answer, accounts included, and applies nothing', async () => {
    const a = await funded('50');
    const b = await account();
    const key = randomUUID();
    const body = { postings: [leg(a, 'debit', '50'), leg(b, 'credit', '50')] };
    const first = await create(body, { key });
    await funding.fund(a, '10');
    const replay = await create(body, { key });
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await balances(t, op, a)).toMatchObject({ posted: '10' });
  });

  it('a dry run answers what the real call then answers, ids and times aside, and writes nothing', async () => {
    const a = await funded('100');
    const b = await account();
    const c = await account();
    const chosen = (body: any): unknown => without(body, ['id', 'createdAt', 'postedAt', 'effectiveAt', 'dryRun']);
    for (const postings of [
      [leg(a, 'debit', '30'), leg(b, 'credit', '20'), leg(c, 'credit', '10')],
      [leg(a, 'debit', '300'), leg(b, 'credit', '300')],
      [leg(a, 'debit', '1'), leg(b, 'credit', '1', { lockVersion: 99 })],
    ]) {
      const before = await snapshot([a, b, c]);
      const dry = await create({ postings }, { query: '?dryRun=true', key: randomUUID() });
      expect(await snapshot([a, b, c])).toEqual(before);
      const real = await create({ postings });
      if (real.status === 201) {
        expect([dry.status, dry.body.dryRun]).toEqual([200, true]);
        expect(chosen(dry.body)).toEqual(chosen(real.body));
      } else {
        expect([dry.status, without(dry.body, ['requestId'])]).toEqual([
          real.status,
          without(real.body, ['requestId']),
        ]);
      }
    }
  });

  it('lists transactions and transfers (as two postings) in one order, by account, status and metadata', async () => {
    const a = await funded('1000');
    const b = await account();
    const c = await account();
    const tr = await transfer(t, op, { debitAccountId: a, creditAccountId: b, amount: '5' });
    const tx1 = await create({
      postings: [leg(a, 'debit', '10'), leg(b, 'credit', '7'), leg(c, 'credit', '3')],
      metadata: { kind: 'split' },
    });
    const tx2 = await create({
      postings: [leg(a, 'debit', '1'), leg(b, 'credit', '1')],
      pending: true,
      metadata: { kind: 'hold' },
    });
    const list = async (query: string): Promise<any[]> => {
      const res = await t.request('GET', `/v1/transactions?${query}`, { token: op });
      expect(res.status).toBe(200);
      return res.body.data;
    };
    const byB = await list(`accountId=${b}`);
    expect(byB.map((x) => x.id)).toEqual([tr.body.id, tx1.body.id, tx2.body.id]);
    expect(byB[0].postings).toEqual([leg(a, 'debit', '5'), leg(b, 'credit', '5')]);
    expect((await t.request('GET', `/v1/transactions/${tr.body.id}`, { token: op })).body).toEqual(byB[0]);
    expect((await list(`accountId=${c}`)).map((x) => x.id)).toEqual([tx1.body.id]);
    expect((await list(`accountId=${b}&status=pending`)).map((x) => x.id)).toEqual([tx2.body.id]);
    expect((await list(`accountId=${b}&metadata[kind]=split`)).map((x) => x.id)).toEqual([tx1.body.id]);
    // Pages of one across both tables, in order, none skipped.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Reply = await t.request(
        'GET',
        `/v1/transactions?accountId=${b}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        {
          token: op,
        },
      );
      seen.push(...res.body.data.map((x: any) => x.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([tr.body.id, tx1.body.id, tx2.body.id]);
  });

  it('lockVersion under 20 racing clients: exactly the ones that read the version they wrote on succeed', async () => {
    const wallet = await funded('0');
    const source = await account({ allowNegative: true });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { version } = (await t.request('GET', `/v1/accounts/${wallet}`, { token: op })).body;
        const amount = String(i + 1);
        const res = await create({
          postings: [leg(source, 'debit', amount), leg(wallet, 'credit', amount, { lockVersion: version })],
        });
        return { res, amount: BigInt(amount), version: version as number };
      }),
    );
    const ok = results.filter((r) => r.res.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.res.status !== 201)) {
      expect([r.res.status, r.res.body.code, r.res.body.index]).toEqual([409, 'ACCOUNT_VERSION_CONFLICT', 1]);
    }
    // Each success moved the wallet one version on from the one it read, so no two read the same.
    expect(new Set(ok.map((r) => r.version)).size).toBe(ok.length);
    const final = (await t.request('GET', `/v1/accounts/${wallet}`, { token: op })).body;
    expect(final.version).toBe(ok.length);
    expect(BigInt(final.balances.posted)).toBe(ok.reduce((s, r) => s + r.amount, 0n));
  });

  it('an overdraft limit as a condition is never crossed by 50 parallel transactions', async () => {
    const card = await account({ allowNegative: true });
    const shop = await account();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        create({
          postings: [
            leg(card, 'debit', '30', { conditions: { available: { gte: '-500' } } }),
            leg(shop, 'credit', '30'),
          ],
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 201).length;
    expect(ok).toBe(16);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect([r.status, r.body.code, r.body.index]).toEqual([422, 'BALANCE_CONDITION_FAILED', 0]);
    }
    expect(await balances(t, op, card)).toMatchObject({ available: '-480' });
  });
});
