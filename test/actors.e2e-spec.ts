import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { type ActorShown, actorOf, adminToken, SYSTEM_ACTOR, userWith } from './support/auth.js';
import { createAccount, fundingSource, transfer } from './support/ledger.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// SPEC 10, actors: every write records who made it, on the rows themselves, and a replay answers as the first time.
describe('actors', () => {
  let t: TestApp;
  let admin: string;
  let op: string;
  let opActor: ActorShown;
  let service: string;
  let serviceActor: ActorShown;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t);
    const user = await userWith(t, ['operator']);
    op = user.token;
    opActor = await actorOf(t, op);
    expect(opActor).toEqual({ type: 'user', id: user.id, name: user.username });
    const key = await t.request('POST', '/v1/api-keys', {
      token: admin,
      body: { name: `payments-${randomUUID().slice(0, 8)}`, roles: ['operator'] },
    });
    expect(key.status).toBe(201);
    service = key.body.key;
    serviceActor = { type: 'apiKey', id: key.body.id, name: key.body.name };
  });
  afterAll(() => t.close());

  const get = async (path: string): Promise<any> => (await t.request('GET', path, { token: admin })).body;

  it('names the creator of accounts and transfers, and who posted, voided and reversed them', async () => {
    const funding = await fundingSource(t, op);
    const shop = await createAccount(t, service, { name: 'shop' });
    expect(funding.source.createdBy).toEqual(opActor);
    expect(shop.createdBy).toEqual(serviceActor);

    // Made by the key, posted by the user.
    const held = await transfer(t, service, {
      debitAccountId: funding.source.id,
      creditAccountId: shop.id,
      amount: '50',
      pending: true,
    });
    expect(held.body).toMatchObject({ createdBy: serviceActor, postedBy: null, voidedBy: null });
    const posted = await t.request('POST', `/v1/transfers/${held.body.id}/post`, { token: op, body: {} });
    expect(posted.body).toMatchObject({ status: 'posted', createdBy: serviceActor, postedBy: opActor, voidedBy: null });
    expect(posted.body).toEqual({ ...(await get(`/v1/transfers/${held.body.id}`)), accounts: expect.any(Array) });

    // Made by the user, voided by the key.
    const other = await transfer(t, op, {
      debitAccountId: funding.source.id,
      creditAccountId: shop.id,
      amount: '5',
      pending: true,
    });
    const voided = await t.request('POST', `/v1/transfers/${other.body.id}/void`, { token: service, body: {} });
    expect(voided.body).toMatchObject({ status: 'voided', createdBy: opActor, postedBy: null, voidedBy: serviceActor });

    // Posted when made: the creator posted it. Its reversal is the reverser's.
    const paid = await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: shop.id, amount: '7' });
    expect(paid.body).toMatchObject({ createdBy: opActor, postedBy: opActor, voidedBy: null });
    const reversal = await t.request('POST', `/v1/transfers/${paid.body.id}/reverse`, { token: service, body: {} });
    expect(reversal.status).toBe(201);
    expect(reversal.body).toMatchObject({ createdBy: serviceActor, postedBy: serviceActor, voidedBy: null });
    expect(await get(`/v1/transfers/${paid.body.id}`)).toMatchObject({ createdBy: opActor, reversedAmount: '7' });

    // A batch: every transfer is its maker's.
    const batch = await t.request('POST', '/v1/transfers/batch', {
      token: service,
      body: {
        transfers: [1, 2].map((n) => ({
          debitAccountId: funding.source.id,
          creditAccountId: shop.id,
          amount: String(n),
          currency: 'USD',
        })),
      },
    });
    expect(batch.status).toBe(201);
    for (const made of batch.body.transfers)
      expect(made).toMatchObject({ createdBy: serviceActor, postedBy: serviceActor });
  });

  it('records the system as the one who voided an expired reservation', async () => {
    const funding = await fundingSource(t, op);
    const to = await createAccount(t, op);
    const held = await transfer(t, service, {
      debitAccountId: funding.source.id,
      creditAccountId: to.id,
      amount: '3',
      pending: true,
      timeoutSeconds: 1,
    });
    expect(held.body.voidedBy).toBeNull();
    // The sweeper releases it within 5 s; from then on the row itself names the system.
    const deadline = Date.now() + 8000;
    let balances = (await get(`/v1/accounts/${funding.source.id}`)).balances;
    while (balances.debitsPending !== '0' && Date.now() < deadline) {
      await sleep(200);
      balances = (await get(`/v1/accounts/${funding.source.id}`)).balances;
    }
    expect(balances.debitsPending).toBe('0');
    expect(await get(`/v1/transfers/${held.body.id}`)).toMatchObject({
      status: 'expired',
      createdBy: serviceActor,
      voidedBy: SYSTEM_ACTOR,
    });
  });

  it('replays the first answer, with its actor, even after another actor changed the transfer', async () => {
    const funding = await fundingSource(t, op);
    const to = await createAccount(t, op);
    const key = randomUUID();
    const body = { debitAccountId: funding.source.id, creditAccountId: to.id, amount: '9', pending: true };
    const first = await transfer(t, op, body, key);
    expect(first.body).toMatchObject({ createdBy: opActor, postedBy: null });
    expect((await t.request('POST', `/v1/transfers/${first.body.id}/post`, { token: service, body: {} })).status).toBe(
      200,
    );
    const replay = await transfer(t, op, body, key);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await get(`/v1/transfers/${first.body.id}`)).toMatchObject({ createdBy: opActor, postedBy: serviceActor });
  });

  it('lists what one actor created with ?createdBy=, and nothing for an actor that made nothing', async () => {
    const maker = await userWith(t, ['operator']);
    const funding = await fundingSource(t, maker.token);
    const to = await createAccount(t, maker.token);
    const made = [];
    for (const amount of ['1', '2', '3']) {
      made.push(
        (await transfer(t, maker.token, { debitAccountId: funding.source.id, creditAccountId: to.id, amount })).body.id,
      );
    }
    // Someone else's transfer between the same accounts is not the maker's.
    await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: to.id, amount: '4' });

    const transfers = await get(`/v1/transfers?createdBy=${maker.id}&limit=2`);
    expect(transfers.data.map((x: { id: string }) => x.id)).toEqual(made.slice(0, 2));
    const rest = await get(`/v1/transfers?createdBy=${maker.id}&cursor=${transfers.nextCursor}`);
    expect(rest.data.map((x: { id: string }) => x.id)).toEqual(made.slice(2));
    const accounts = await get(`/v1/accounts?createdBy=${maker.id}`);
    expect(accounts.data.map((a: { id: string }) => a.id)).toEqual([funding.source.id, to.id]);
    expect((await get(`/v1/transfers?createdBy=${serviceActor.id}&accountId=${to.id}`)).data).toEqual([]);
    expect((await get(`/v1/accounts?createdBy=nobody`)).data).toEqual([]);
    const tooLong = await t.request('GET', `/v1/transfers?createdBy=${'x'.repeat(513)}`, { token: admin });
    expect(tooLong.status).toBe(400);
  });
});
