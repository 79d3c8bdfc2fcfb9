import { randomUUID } from 'node:crypto';
import { type Reply, startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { ledgerViolations, rowCounts } from './support/invariants.js';
import { createAccount, fundingSource } from './support/ledger.js';

const without = (o: Record<string, unknown>, keys: string[]): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

// SPEC 11, dry runs: the same checks as the real call, against the current state, and nothing written.
describe('dry runs of transfers and batches', () => {
  let t: TestApp;
  let op: string;
  let funding: Awaited<ReturnType<typeof fundingSource>>;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op } = await tokensByRole(t));
    funding = await fundingSource(t, op);
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  const send = (path: string, body: unknown, key?: string): Promise<Reply> =>
    t.request('POST', path, { token: op, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
  /** What the database holds that a write could change: row counts, and the accounts' counters and chain heads. */
  const snapshot = async (ids: string[]): Promise<unknown> => ({
    rows: await rowCounts(t.databaseUrl),
    keys: await keyCount(),
    accounts: await Promise.all(
      ids.map(async (id) => (await t.request('GET', `/v1/accounts/${id}`, { token: op })).body),
    ),
  });
  /** A transfer's answer without what a second call chooses anew: its id and times (and a batch's id). */
  const chosen = (view: any): Record<string, unknown> => {
    return {
      ...without(view, ['id', 'createdAt', 'effectiveAt', 'postedAt', 'expiresAt', 'batchId']),
      inBatch: view.batchId !== null,
      expiresIn: view.expiresAt === null ? null : Date.parse(view.expiresAt) - Date.parse(view.createdAt),
    };
  };
  const withoutChoices = (body: any): unknown =>
    'transfers' in body
      ? { ...body, batchId: undefined, transfers: body.transfers.map(chosen) }
      : { ...chosen(body), dryRun: body.dryRun };

  async function keyCount(): Promise<number> {
    const db = await connect(t.databaseUrl);
    try {
      return (await db.query(`SELECT count(*)::int AS n FROM idempotency_keys`)).rows[0].n;
    } finally {
      await db.end();
    }
  }

  async function pair(balance: string) {
    const from = await createAccount(t, op);
    const to = await createAccount(t, op);
    if (balance !== '0') await funding.fund(from.id, balance);
    return { from, to };
  }

  /** Runs the dry run, checks it wrote nothing, then the real call: same answer but for ids and times. */
  async function dryThenReal(path: string, body: unknown, accounts: string[]): Promise<[Reply, Reply]> {
    const before = await snapshot(accounts);
    const dry = await send(`${path}?dryRun=true`, body, randomUUID());
    expect(await snapshot(accounts)).toEqual(before);
    const real = await send(path, body, randomUUID());
    if (real.status === 201) {
      expect(dry.status).toBe(200);
      expect(dry.body.dryRun).toBe(true);
      expect(real.body.dryRun).toBeUndefined();
      expect(withoutChoices(dry.body)).toEqual(withoutChoices({ ...real.body, dryRun: true }));
    } else {
      expect([dry.status, dry.headers['content-type']]).toEqual([real.status, real.headers['content-type']]);
      expect(without(dry.body, ['requestId'])).toEqual(without(real.body, ['requestId']));
    }
    return [dry, real];
  }

  it('answers a transfer as the real call then does, posted or pending, and writes nothing', async () => {
    const { from, to } = await pair('100');
    const [dry] = await dryThenReal(
      '/v1/transfers',
      { debitAccountId: from.id, creditAccountId: to.id, amount: '60', currency: 'USD', metadata: { k: 'v' } },
      [from.id, to.id],
    );
    expect(dry.body).toMatchObject({ status: 'posted', amount: '60', dryRun: true });
    await dryThenReal(
      '/v1/transfers',
      {
        debitAccountId: from.id,
        creditAccountId: to.id,
        amount: '40',
        currency: 'USD',
        pending: true,
        timeoutSeconds: 60,
      },
      [from.id, to.id],
    );
  });

  it('gives the real call’s refusal for each way a transfer is refused', async () => {
    const { from, to } = await pair('10');
    const eur = await createAccount(t, op, { currency: 'EUR' });
    const frozen = await createAccount(t, op);
    const admin = (await tokensByRole(t)).admin;
    await t.request('PATCH', `/v1/accounts/${frozen.id}`, { token: admin, body: { status: 'frozen' } });
    const cases: [unknown, string][] = [
      [{ debitAccountId: from.id, creditAccountId: to.id, amount: '11' }, 'INSUFFICIENT_FUNDS'],
      [{ debitAccountId: from.id, creditAccountId: from.id, amount: '1' }, 'SAME_ACCOUNT'],
      [{ debitAccountId: from.id, creditAccountId: randomUUID(), amount: '1' }, 'ACCOUNT_NOT_FOUND'],
      [{ debitAccountId: from.id, creditAccountId: eur.id, amount: '1' }, 'CURRENCY_MISMATCH'],
      [{ debitAccountId: from.id, creditAccountId: frozen.id, amount: '1' }, 'ACCOUNT_NOT_ACTIVE'],
    ];
    for (const [body, code] of cases) {
      const [dry] = await dryThenReal('/v1/transfers', { currency: 'USD', ...(body as object) }, [from.id, to.id]);
      expect(dry.body.code).toBe(code);
    }
  });

  it('sees the state as it is: a dry run passes until a real call takes the money, then refuses', async () => {
    const { from, to } = await pair('50');
    const body = { debitAccountId: from.id, creditAccountId: to.id, amount: '50', currency: 'USD' };
    // Many dry runs at once spend nothing: each is checked against the same 50.
    const dries = await Promise.all(Array.from({ length: 20 }, () => send('/v1/transfers?dryRun=true', body)));
    expect(dries.map((r) => r.status)).toEqual(Array<number>(20).fill(200));
    expect((await send('/v1/transfers', body)).status).toBe(201);
    expect((await send('/v1/transfers?dryRun=true', body)).body.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('answers a batch, or its refusal with the index of the transfer refused', async () => {
    const { from, to } = await pair('100');
    const item = (amount: string) => ({ debitAccountId: from.id, creditAccountId: to.id, amount, currency: 'USD' });
    const [dry] = await dryThenReal('/v1/transfers/batch', { transfers: [item('30'), item('30')] }, [from.id, to.id]);
    expect(dry.body.transfers).toHaveLength(2);
    const [refused] = await dryThenReal('/v1/transfers/batch', { transfers: [item('10'), item('20'), item('50')] }, [
      from.id,
      to.id,
    ]);
    expect([refused.status, refused.body.code, refused.body.index]).toEqual([422, 'INSUFFICIENT_FUNDS', 2]);
    // An externalId a dry run names is not taken by it.
    const named = { transfers: [{ ...item('1'), externalId: 'dry-ext' }] };
    expect((await send('/v1/transfers/batch?dryRun=true', named)).status).toBe(200);
    expect((await send('/v1/transfers/batch', named)).status).toBe(201);
    expect((await send('/v1/transfers/batch?dryRun=true', named)).body.code).toBe('DUPLICATE_EXTERNAL_ID');
  });

  it('neither looks up nor keeps its Idempotency-Key', async () => {
    const { from, to } = await pair('100');
    const body = { debitAccountId: from.id, creditAccountId: to.id, amount: '5', currency: 'USD' };
    const key = randomUUID();
    const dry = await send('/v1/transfers?dryRun=true', body, key);
    expect(dry.status).toBe(200);
    const real = await send('/v1/transfers', body, key);
    expect(real.status).toBe(201);
    expect(real.headers['idempotent-replayed']).toBeUndefined();
    // The key is the real call's now; a dry run under it is still only a dry run, not a replay.
    const again = await send('/v1/transfers?dryRun=true', body, key);
    expect([again.status, again.headers['idempotent-replayed'], again.body.dryRun]).toEqual([200, undefined, true]);
    expect(again.body.id).not.toBe(real.body.id);
  });

  it('refuses a dryRun that is not true or false', async () => {
    const { from, to } = await pair('1');
    const body = { debitAccountId: from.id, creditAccountId: to.id, amount: '1', currency: 'USD' };
    const res = await send('/v1/transfers?dryRun=yes', body);
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await send('/v1/transfers?other=1', body)).status).toBe(400);
    expect((await send('/v1/transfers?dryRun=false', body)).status).toBe(201);
  });
});
