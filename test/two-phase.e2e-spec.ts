import { startTestApp, type Reply, type TestApp } from './support/app.js';
import { type ActorShown, actorOf, SYSTEM_ACTOR, tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { ledgerViolations, rowCounts } from './support/invariants.js';
import { balances, createAccount, fundingSource, newKey, transfer } from './support/ledger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));

/** An account's six balance fields, in the API's order. */
function bal(debitsPosted: string, creditsPosted: string, debitsPending: string, creditsPending: string) {
  return (posted: string, available: string) => ({
    debitsPosted,
    creditsPosted,
    debitsPending,
    creditsPending,
    posted,
    available,
  });
}

describe('two-phase transfers and reversals', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;
  let opActor: ActorShown;
  let funding: Awaited<ReturnType<typeof fundingSource>>;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin, auditor } = await tokensByRole(t));
    opActor = await actorOf(t, op);
    funding = await fundingSource(t, op);
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  const keyed = (key?: string): Record<string, string> => (key === undefined ? {} : { 'idempotency-key': key });
  /**
   * SPEC 11: a write that moves money answers with its accounts as they stood right after it. Every write of this
   * suite is checked so (nothing else writes those accounts meanwhile: the next GET must read the same), then the
   * answer is handed on without them, to compare with the transfer as GET shows it.
   */
  async function accountsChecked(sent: Promise<Reply>): Promise<Reply> {
    const res = await sent;
    if (res.status >= 300) {
      expect(res.body.accounts).toBeUndefined();
      return res;
    }
    const { accounts, ...rest } = res.body;
    expect(accounts.map((a: { accountId: string }) => a.accountId)).toEqual([
      rest.debitAccountId,
      rest.creditAccountId,
    ]);
    for (const a of accounts) {
      const now = (await t.request('GET', `/v1/accounts/${a.accountId}`, { token: auditor })).body;
      // Writes racing each other (the races below) may have moved the account since: it can only have gone on.
      if (racing) expect(a.version).toBeLessThanOrEqual(now.version);
      else expect(a).toEqual({ accountId: now.id, version: now.version, balances: now.balances });
    }
    return { ...res, body: rest };
  }
  let racing = false;
  const send = (body: Record<string, unknown>, key?: string) => accountsChecked(transfer(t, op, body, key));
  const pending = (body: Record<string, unknown>, key?: string) => send({ pending: true, ...body }, key);
  const post = (id: string, body: Record<string, unknown> = {}, key?: string) =>
    accountsChecked(t.request('POST', `/v1/transfers/${id}/post`, { token: op, body, headers: keyed(key) }));
  const voidIt = (id: string, key?: string) =>
    accountsChecked(t.request('POST', `/v1/transfers/${id}/void`, { token: op, headers: keyed(key) }));
  const reverse = (id: string, body: Record<string, unknown> = {}, key?: string) =>
    accountsChecked(t.request('POST', `/v1/transfers/${id}/reverse`, { token: op, body, headers: keyed(key) }));
  const getTransfer = async (id: string): Promise<any> => {
    const res = await t.request('GET', `/v1/transfers/${id}`, { token: auditor });
    expect(res.status).toBe(200);
    return res.body;
  };
  const entriesOf = async (accountId: string): Promise<any[]> => {
    const res = await t.request('GET', `/v1/accounts/${accountId}/entries?limit=500`, { token: auditor });
    expect(res.status).toBe(200);
    return res.body.data;
  };
  const outcome = (r: Reply): string => `${r.status} ${r.body?.code ?? r.body?.status}`;

  /** Runs `act` and checks that no transfer, entry or balance changed. */
  async function nothingWritten(act: () => Promise<unknown>): Promise<void> {
    const before = await rowCounts(t.databaseUrl);
    await act();
    expect(await rowCounts(t.databaseUrl)).toEqual(before);
  }

  /** Polls the account's balances (never a transfer) until `done` holds; returns when it was first seen. */
  async function waitForBalances(accountId: string, done: (b: Record<string, string>) => boolean, timeoutMs = 8000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (done(await balances(t, op, accountId))) return Date.now();
      await sleep(50);
    }
    throw new Error(`balances of ${accountId} did not settle within ${timeoutMs} ms`);
  }

  /** A credit-normal, non-negative account holding `amount`, and a fresh counterparty. */
  async function pair(amount = '1000') {
    const alice = await createAccount(t, op, { name: 'alice' });
    const bob = await createAccount(t, op, { name: 'bob' });
    if (amount !== '0') await funding.fund(alice.id, amount);
    return { alice, bob };
  }

  describe('pending transfers', () => {
    it('reserves without writing entries: pending counters and available move, posted does not', async () => {
      const { alice, bob } = await pair('1000');
      const aliceEntries = await entriesOf(alice.id);
      expect(aliceEntries).toHaveLength(1);
      const before = await rowCounts(t.databaseUrl);
      const res = await pending({
        debitAccountId: alice.id,
        creditAccountId: bob.id,
        amount: '300',
        description: 'hold',
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        ledgerId: '00000000-0000-4000-8000-000000000001',
        debitAccountId: alice.id,
        creditAccountId: bob.id,
        amount: '300',
        currency: 'USD',
        status: 'pending',
        postedAmount: '0',
        reversedAmount: '0',
        description: 'hold',
        externalId: null,
        metadata: {},
        batchId: null,
        reversalOf: null,
        expiresAt: null,
        createdAt: expect.stringMatching(TIMESTAMP),
        effectiveAt: expect.stringMatching(TIMESTAMP),
        postedAt: null,
        createdBy: opActor,
        postedBy: null,
        voidedBy: null,
      });
      expect(await rowCounts(t.databaseUrl)).toMatchObject({
        transfers: before.transfers! + 1,
        entries: before.entries,
      });
      expect(await entriesOf(bob.id)).toEqual([]);
      expect(await entriesOf(alice.id)).toEqual(aliceEntries);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '0', '0', '300')('0', '0'));
      expect((await t.request('GET', `/v1/accounts/${alice.id}`, { token: op })).body.version).toBe(1);
      expect((await t.request('GET', `/v1/accounts/${bob.id}`, { token: op })).body.version).toBe(0);
      expect(await getTransfer(res.body.id)).toEqual(res.body);

      // Between two accounts that never had an entry, neither gets one.
      const line = await createAccount(t, op, { allowNegative: true, name: 'credit line' });
      const shop = await createAccount(t, op, { name: 'shop' });
      const held = await pending({ debitAccountId: line.id, creditAccountId: shop.id, amount: '50' });
      expect(held.status).toBe(201);
      expect(await entriesOf(line.id)).toEqual([]);
      expect(await entriesOf(shop.id)).toEqual([]);
      expect(await balances(t, op, line.id)).toEqual(bal('0', '0', '50', '0')('0', '-50'));
      expect(await balances(t, op, shop.id)).toEqual(bal('0', '0', '0', '50')('0', '0'));
    });

    it('applies allowNegative to reservations: reserving more than available is refused and writes nothing', async () => {
      const { alice, bob } = await pair('100');
      expect((await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '60' })).status).toBe(201);
      await nothingWritten(async () => {
        const res = await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '41' });
        expect(outcome(res)).toBe('422 INSUFFICIENT_FUNDS');
        expect(res.body.detail).toBe(`account ${alice.id} has 40 available, 41 requested`);
        // a posted movement sees the reservation too
        const posted = await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '41' });
        expect(outcome(posted)).toBe('422 INSUFFICIENT_FUNDS');
      });
      expect((await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '40' })).status).toBe(201);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '100', '100', '0')('100', '0'));
      await nothingWritten(async () => {
        const res = await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '1' });
        expect(outcome(res)).toBe('422 INSUFFICIENT_FUNDS');
      });

      // A debit-normal account is drained by credits: a pending credit is checked against it.
      const asset = await createAccount(t, op, { normalBalance: 'debit', name: 'asset' });
      expect((await send({ debitAccountId: asset.id, creditAccountId: funding.source.id, amount: '100' })).status).toBe(
        201,
      );
      await nothingWritten(async () => {
        const res = await pending({ debitAccountId: funding.source.id, creditAccountId: asset.id, amount: '101' });
        expect(outcome(res)).toBe('422 INSUFFICIENT_FUNDS');
        expect(res.body.detail).toBe(`account ${asset.id} has 100 available, 101 requested`);
      });
      expect(
        (await pending({ debitAccountId: funding.source.id, creditAccountId: asset.id, amount: '100' })).status,
      ).toBe(201);
      expect(await balances(t, op, asset.id)).toEqual(bal('100', '0', '0', '100')('100', '0'));
    });

    it('reserves inside a batch, later transfers seeing earlier reservations, all or nothing', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      const c = await createAccount(t, op);
      const res = await t.request('POST', '/v1/transfers/batch', {
        token: op,
        body: {
          transfers: [
            { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '100', currency: 'USD' },
            { debitAccountId: a.id, creditAccountId: b.id, amount: '70', currency: 'USD', pending: true },
            {
              debitAccountId: a.id,
              creditAccountId: c.id,
              amount: '30',
              currency: 'USD',
              pending: true,
              timeoutSeconds: 3600,
            },
          ],
        },
      });
      expect(res.status).toBe(201);
      expect(res.body.transfers.map((x: any) => [x.status, x.postedAmount, x.batchId])).toEqual([
        ['posted', '100', res.body.batchId],
        ['pending', '0', res.body.batchId],
        ['pending', '0', res.body.batchId],
      ]);
      expect(res.body.transfers[1].expiresAt).toBeNull();
      expect(Date.parse(res.body.transfers[2].expiresAt) - Date.parse(res.body.transfers[2].createdAt)).toBe(3_600_000);
      expect(await balances(t, op, a.id)).toEqual(bal('0', '100', '100', '0')('100', '0'));
      expect(await balances(t, op, b.id)).toEqual(bal('0', '0', '0', '70')('0', '0'));
      expect(await balances(t, op, c.id)).toEqual(bal('0', '0', '0', '30')('0', '0'));
      expect(await entriesOf(b.id)).toEqual([]);
      expect(await entriesOf(c.id)).toEqual([]);
      expect((await entriesOf(a.id)).map((e) => e.transferId)).toEqual([res.body.transfers[0].id]);

      await nothingWritten(async () => {
        const refused = await t.request('POST', '/v1/transfers/batch', {
          token: op,
          body: {
            transfers: [
              { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '5', currency: 'USD' },
              { debitAccountId: a.id, creditAccountId: b.id, amount: '5', currency: 'USD', pending: true },
              { debitAccountId: a.id, creditAccountId: c.id, amount: '1', currency: 'USD', pending: true },
            ],
          },
        });
        expect(refused.status).toBe(422);
        expect(refused.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS', index: 2 });
      });

      // a batch's reservation is posted like any other
      const posted = await post(res.body.transfers[1].id);
      expect(posted.status).toBe(200);
      expect(await balances(t, op, b.id)).toEqual(bal('0', '70', '0', '0')('70', '70'));
    });

    it('sets expiresAt = createdAt + timeoutSeconds and validates the timeout', async () => {
      const sink = await createAccount(t, op);
      for (const timeoutSeconds of [3600, 604800]) {
        const res = await pending({
          debitAccountId: funding.source.id,
          creditAccountId: sink.id,
          amount: '1',
          timeoutSeconds,
        });
        expect(res.status).toBe(201);
        expect(res.body.status).toBe('pending');
        expect(res.body.expiresAt).toMatch(TIMESTAMP);
        expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)).toBe(timeoutSeconds * 1000);
        expect(await getTransfer(res.body.id)).toEqual(res.body);
      }
      const listed = await t.request('GET', `/v1/transfers?accountId=${sink.id}&status=pending`, { token: op });
      expect(listed.body.data).toHaveLength(2);
      for (const timeoutSeconds of [0, 604801, 1.5, '60', -1]) {
        await nothingWritten(async () => {
          const res = await pending({
            debitAccountId: funding.source.id,
            creditAccountId: sink.id,
            amount: '1',
            timeoutSeconds,
          });
          expect(res.status).toBe(400);
          expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('timeoutSeconds');
        });
      }
    });
  });

  describe('post and void', () => {
    it('posts a reservation in full, writing its entries now', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const res = await post(p.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...p,
        status: 'posted',
        postedAmount: '300',
        postedAt: expect.stringMatching(TIMESTAMP),
        postedBy: opActor,
      });
      expect(Date.parse(res.body.postedAt)).toBeGreaterThanOrEqual(Date.parse(p.createdAt));
      expect(await getTransfer(p.id)).toEqual(res.body);
      expect(await balances(t, op, alice.id)).toEqual(bal('300', '1000', '0', '0')('700', '700'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '300', '0', '0')('300', '300'));
      expect((await entriesOf(alice.id)).at(-1)).toMatchObject({
        transferId: p.id,
        direction: 'debit',
        amount: '300',
        accountVersion: 2,
        balanceAfter: '700',
      });
      expect(await entriesOf(bob.id)).toEqual([
        expect.objectContaining({
          transferId: p.id,
          direction: 'credit',
          amount: '300',
          accountVersion: 1,
          balanceAfter: '300',
        }),
      ]);
    });

    it('posts part of a reservation: entries for the posted amount only, the whole reservation released', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '0', '0', '300')('0', '0'));
      const res = await post(p.id, { amount: '120' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...p,
        amount: '300',
        status: 'posted',
        postedAmount: '120',
        postedAt: expect.stringMatching(TIMESTAMP),
        postedBy: opActor,
      });
      expect(await balances(t, op, alice.id)).toEqual(bal('120', '1000', '0', '0')('880', '880'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '120', '0', '0')('120', '120'));
      const mine = (await entriesOf(alice.id)).filter((e) => e.transferId === p.id);
      expect(mine.map((e) => [e.direction, e.amount, e.balanceAfter])).toEqual([['debit', '120', '880']]);
      expect((await entriesOf(bob.id)).map((e) => [e.transferId, e.direction, e.amount])).toEqual([
        [p.id, 'credit', '120'],
      ]);
      // the released rest is spendable again
      expect((await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '880' })).status).toBe(201);
    });

    it('refuses to post more than was reserved with AMOUNT_EXCEEDS_PENDING and writes nothing', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      for (const amount of ['301', '9223372036854775807']) {
        await nothingWritten(async () => {
          const res = await post(p.id, { amount });
          expect(outcome(res)).toBe('422 AMOUNT_EXCEEDS_PENDING');
        });
      }
      expect(await getTransfer(p.id)).toEqual(p);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '0', '0', '300')('0', '0'));
      for (const body of [{ amount: '0' }, { amount: 10 }, { amount: '1.5' }, { amount: '10', extra: 'x' }]) {
        await nothingWritten(async () => expect((await post(p.id, body)).status).toBe(400));
      }
      const res = await post(p.id, { amount: '300' });
      expect(res.status).toBe(200);
      expect(res.body.postedAmount).toBe('300');
    });

    it('voids a reservation: it is released and the transfer reads voided', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const before = await rowCounts(t.databaseUrl);
      const res = await voidIt(p.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...p, status: 'voided', postedAmount: '0', postedAt: null, voidedBy: opActor });
      expect(await getTransfer(p.id)).toEqual(res.body);
      expect(await rowCounts(t.databaseUrl)).toMatchObject({ transfers: before.transfers, entries: before.entries });
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '0', '0')('1000', '1000'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '0', '0', '0')('0', '0'));
      expect(await entriesOf(bob.id)).toEqual([]);
      expect((await entriesOf(alice.id)).filter((e) => e.transferId === p.id)).toEqual([]);
      const listed = await t.request('GET', `/v1/transfers?accountId=${bob.id}&status=voided`, { token: op });
      expect(listed.body.data.map((x: any) => x.id)).toEqual([p.id]);
    });

    it('refuses to post while either account is frozen (ACCOUNT_NOT_ACTIVE), and voids on a frozen account', async () => {
      const { alice, bob } = await pair('1000');
      const setStatus = async (id: string, status: string) =>
        expect((await t.request('PATCH', `/v1/accounts/${id}`, { token: admin, body: { status } })).status).toBe(200);
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const q = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '200' })).body;
      for (const frozen of [alice, bob]) {
        await setStatus(frozen.id, 'frozen');
        await nothingWritten(async () => {
          const res = await post(p.id, { amount: '100' });
          expect(outcome(res)).toBe('422 ACCOUNT_NOT_ACTIVE');
          expect(res.body.detail).toBe(`account ${frozen.id} is frozen`);
        });
        await setStatus(frozen.id, 'active');
      }
      expect(await getTransfer(p.id)).toEqual(p);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '500', '0')('1000', '500'));

      // Voiding only gives the reservation back: it goes through on a frozen account.
      await setStatus(alice.id, 'frozen');
      expect((await voidIt(q.id)).status).toBe(200);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));
      await setStatus(alice.id, 'active');
      const res = await post(p.id, { amount: '100' });
      expect(res.status).toBe(200);
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '1000', '0', '0')('900', '900'));
    });

    it('refuses post and void of a transfer that is not pending (409) or does not exist (404)', async () => {
      const { alice, bob } = await pair('1000');
      const direct = (await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '10' })).body;
      const posted = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '20' })).body;
      expect((await post(posted.id, { amount: '5' })).status).toBe(200);
      const voided = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '30' })).body;
      expect((await voidIt(voided.id)).status).toBe(200);
      for (const id of [direct.id, posted.id, voided.id]) {
        await nothingWritten(async () => {
          const p = await post(id);
          expect(outcome(p)).toBe('409 TRANSFER_NOT_PENDING');
          expect(String(p.headers['content-type'])).toContain('application/problem+json');
          expect(outcome(await post(id, { amount: '1' }))).toBe('409 TRANSFER_NOT_PENDING');
          expect(outcome(await voidIt(id))).toBe('409 TRANSFER_NOT_PENDING');
        });
      }
      expect((await getTransfer(posted.id)).postedAmount).toBe('5');
      expect((await getTransfer(voided.id)).status).toBe('voided');
      expect(await balances(t, op, alice.id)).toEqual(bal('15', '1000', '0', '0')('985', '985'));
      await nothingWritten(async () => {
        expect(outcome(await post(UNKNOWN))).toBe('404 NOT_FOUND');
        expect(outcome(await voidIt(UNKNOWN))).toBe('404 NOT_FOUND');
        expect(outcome(await reverse(UNKNOWN))).toBe('404 NOT_FOUND');
        expect((await post('nope')).status).toBe(400);
        expect((await voidIt('nope')).status).toBe(400);
        expect((await reverse('nope')).status).toBe(400);
      });
    });
  });

  describe('expiry', () => {
    it('releases an expired reservation within 5 s untouched, then refuses post and void with TRANSFER_EXPIRED', async () => {
      const { alice, bob } = await pair('1000');
      const { alice: carol, bob: dave } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300', timeoutSeconds: 1 }))
        .body;
      const q = (
        await pending({ debitAccountId: carol.id, creditAccountId: dave.id, amount: '200', timeoutSeconds: 1 })
      ).body;
      const expiresAt = Date.parse(p.expiresAt);
      expect(expiresAt - Date.parse(p.createdAt)).toBe(1000);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));

      // q is touched right after its expiry, whether or not the sweeper has run yet
      await sleepUntil(Date.parse(q.expiresAt) + 20);
      expect(outcome(await post(q.id))).toBe('409 TRANSFER_EXPIRED');
      expect(await getTransfer(q.id)).toEqual({ ...q, status: 'expired', voidedBy: SYSTEM_ACTOR });

      // p is never touched: only alice's balances are read until the reservation is gone
      const releasedAt = await waitForBalances(alice.id, (b) => b.debitsPending === '0');
      expect(releasedAt).toBeGreaterThanOrEqual(expiresAt);
      expect(releasedAt - expiresAt).toBeLessThanOrEqual(5000);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '0', '0')('1000', '1000'));
      expect(await balances(t, op, bob.id)).toEqual(bal('0', '0', '0', '0')('0', '0'));
      expect(await getTransfer(p.id)).toEqual({
        ...p,
        status: 'expired',
        postedAmount: '0',
        postedAt: null,
        voidedBy: SYSTEM_ACTOR,
      });

      await waitForBalances(carol.id, (b) => b.debitsPending === '0');
      await nothingWritten(async () => {
        for (const id of [p.id, q.id]) {
          expect(outcome(await post(id))).toBe('409 TRANSFER_EXPIRED');
          expect(outcome(await post(id, { amount: '1' }))).toBe('409 TRANSFER_EXPIRED');
          expect(outcome(await voidIt(id))).toBe('409 TRANSFER_EXPIRED');
          // an expired transfer posted nothing, so there is nothing to reverse
          expect(outcome(await reverse(id))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
        }
      });
      expect(await entriesOf(bob.id)).toEqual([]);
      expect(await entriesOf(dave.id)).toEqual([]);
      expect((await entriesOf(alice.id)).filter((e) => e.transferId === p.id)).toEqual([]);
      const expired = await t.request('GET', `/v1/transfers?accountId=${alice.id}&status=expired`, { token: op });
      expect(expired.body.data.map((x: any) => x.id)).toEqual([p.id]);
      const stillPending = await t.request('GET', `/v1/transfers?accountId=${alice.id}&status=pending`, { token: op });
      expect(stillPending.body.data).toEqual([]);

      // the database keeps it expired
      const db = await connect(t.databaseUrl);
      try {
        expect((await db.query('SELECT status FROM transfers WHERE id = $1', [p.id])).rows).toEqual([
          { status: 'expired' },
        ]);
        await expect(db.query(`UPDATE transfers SET status = 'pending' WHERE id = $1`, [p.id])).rejects.toThrow();
      } finally {
        await db.end();
      }
    });
  });

  describe('reversals', () => {
    it('reverses in full with a new posted transfer in the opposite direction', async () => {
      const { alice, bob } = await pair('1000');
      const pay = (await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const res = await reverse(pay.id, { description: 'refund' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        ledgerId: '00000000-0000-4000-8000-000000000001',
        debitAccountId: bob.id,
        creditAccountId: alice.id,
        amount: '300',
        currency: 'USD',
        status: 'posted',
        postedAmount: '300',
        reversedAmount: '0',
        description: 'refund',
        externalId: null,
        metadata: {},
        batchId: null,
        reversalOf: pay.id,
        expiresAt: null,
        createdAt: expect.stringMatching(TIMESTAMP),
        effectiveAt: expect.stringMatching(TIMESTAMP),
        postedAt: expect.stringMatching(TIMESTAMP),
        createdBy: opActor,
        postedBy: opActor,
        voidedBy: null,
      });
      expect(res.body.id).not.toBe(pay.id);
      expect(await getTransfer(res.body.id)).toEqual(res.body);
      expect(await getTransfer(pay.id)).toEqual({ ...pay, reversedAmount: '300' });
      expect(await balances(t, op, alice.id)).toEqual(bal('300', '1300', '0', '0')('1000', '1000'));
      expect(await balances(t, op, bob.id)).toEqual(bal('300', '300', '0', '0')('0', '0'));
      expect((await entriesOf(bob.id)).map((e) => [e.transferId, e.direction, e.amount, e.balanceAfter])).toEqual([
        [pay.id, 'credit', '300', '300'],
        [res.body.id, 'debit', '300', '0'],
      ]);
      await nothingWritten(async () => {
        expect(outcome(await reverse(pay.id))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
        expect(outcome(await reverse(pay.id, { amount: '1' }))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
        expect((await reverse(pay.id, { amount: '0' })).status).toBe(400);
        expect((await reverse(pay.id, { amount: '1', currency: 'USD' })).status).toBe(400);
      });
    });

    it('reverses in parts, never more than the posted amount', async () => {
      const { alice, bob } = await pair('1000');
      const pay = (await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '100' })).body;
      const r1 = await reverse(pay.id, { amount: '30' });
      expect(r1.status).toBe(201);
      expect(r1.body).toMatchObject({ amount: '30', reversalOf: pay.id, description: null });
      expect((await getTransfer(pay.id)).reversedAmount).toBe('30');
      expect((await reverse(pay.id, { amount: '50' })).status).toBe(201);
      expect((await getTransfer(pay.id)).reversedAmount).toBe('80');
      await nothingWritten(async () => {
        const res = await reverse(pay.id, { amount: '21' });
        expect(outcome(res)).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
      });
      const rest = await reverse(pay.id);
      expect(rest.status).toBe(201);
      expect(rest.body.amount).toBe('20');
      expect(await getTransfer(pay.id)).toMatchObject({ postedAmount: '100', reversedAmount: '100' });
      await nothingWritten(async () => {
        expect(outcome(await reverse(pay.id, { amount: '1' }))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
      });
      expect(await balances(t, op, bob.id)).toEqual(bal('100', '100', '0', '0')('0', '0'));
      expect((await balances(t, op, alice.id)).posted).toBe('1000');

      // a partially posted two-phase transfer can be reversed up to what was posted, not what was reserved
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      expect((await post(p.id, { amount: '120' })).status).toBe(200);
      await nothingWritten(async () => {
        expect(outcome(await reverse(p.id, { amount: '121' }))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
      });
      const all = await reverse(p.id);
      expect(all.status).toBe(201);
      expect(all.body).toMatchObject({ amount: '120', reversalOf: p.id, debitAccountId: bob.id });
      expect(await getTransfer(p.id)).toMatchObject({ amount: '300', postedAmount: '120', reversedAmount: '120' });
    });

    it('refuses to reverse a pending or voided transfer, which posted nothing', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const v = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '200' })).body;
      expect((await voidIt(v.id)).status).toBe(200);
      for (const id of [p.id, v.id]) {
        await nothingWritten(async () => {
          expect(outcome(await reverse(id))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
          expect(outcome(await reverse(id, { amount: '1' }))).toBe('422 REVERSAL_EXCEEDS_AMOUNT');
        });
      }
      expect(await getTransfer(p.id)).toEqual(p);
      expect(await balances(t, op, alice.id)).toEqual(bal('0', '1000', '300', '0')('1000', '700'));
    });

    it('applies the usual checks to a reversal: funds (reservations included) and account status', async () => {
      const { alice, bob } = await pair('100');
      const carol = await createAccount(t, op);
      const pay = (await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '100' })).body;
      expect((await send({ debitAccountId: bob.id, creditAccountId: carol.id, amount: '100' })).status).toBe(201);
      await nothingWritten(async () => {
        const res = await reverse(pay.id);
        expect(outcome(res)).toBe('422 INSUFFICIENT_FUNDS');
        expect(res.body.detail).toBe(`account ${bob.id} has 0 available, 100 requested`);
      });
      expect((await getTransfer(pay.id)).reversedAmount).toBe('0');

      expect((await send({ debitAccountId: carol.id, creditAccountId: bob.id, amount: '50' })).status).toBe(201);
      expect((await pending({ debitAccountId: bob.id, creditAccountId: carol.id, amount: '30' })).status).toBe(201);
      expect(await balances(t, op, bob.id)).toEqual(bal('100', '150', '30', '0')('50', '20'));
      await nothingWritten(async () => {
        const res = await reverse(pay.id, { amount: '21' });
        expect(outcome(res)).toBe('422 INSUFFICIENT_FUNDS');
        expect(res.body.detail).toBe(`account ${bob.id} has 20 available, 21 requested`);
      });

      const frozen = await t.request('PATCH', `/v1/accounts/${alice.id}`, { token: admin, body: { status: 'frozen' } });
      expect(frozen.status).toBe(200);
      await nothingWritten(async () => {
        expect(outcome(await reverse(pay.id, { amount: '1' }))).toBe('422 ACCOUNT_NOT_ACTIVE');
      });
      expect(
        (await t.request('PATCH', `/v1/accounts/${alice.id}`, { token: admin, body: { status: 'active' } })).status,
      ).toBe(200);

      const res = await reverse(pay.id, { amount: '20' });
      expect(res.status).toBe(201);
      expect(await balances(t, op, bob.id)).toEqual(bal('120', '150', '30', '0')('30', '0'));
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '120', '0', '0')('20', '20'));
      expect((await getTransfer(pay.id)).reversedAmount).toBe('20');
    });
  });

  describe('idempotency', () => {
    it('replays a retried post, void and reverse with the same key and applies each once', async () => {
      const { alice, bob } = await pair('1000');
      const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '300' })).body;
      const postKey = newKey();
      const first = await post(p.id, { amount: '100' }, postKey);
      expect(first.status).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      await nothingWritten(async () => {
        const again = await post(p.id, { amount: '100' }, postKey);
        expect(again.status).toBe(200);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.text).toBe(first.text);
        expect(outcome(await post(p.id, { amount: '200' }, postKey))).toBe('422 IDEMPOTENCY_KEY_REUSED');
        expect(outcome(await post(p.id, { amount: '100' }))).toBe('409 TRANSFER_NOT_PENDING');
      });
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '1000', '0', '0')('900', '900'));
      expect((await entriesOf(bob.id)).map((e) => [e.transferId, e.amount])).toEqual([[p.id, '100']]);

      const v = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '50' })).body;
      const voidKey = newKey();
      const voided = await voidIt(v.id, voidKey);
      expect(voided.status).toBe(200);
      await nothingWritten(async () => {
        const again = await voidIt(v.id, voidKey);
        expect(again.status).toBe(200);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.text).toBe(voided.text);
        // a refusal is stored and replayed too
        const refusalKey = newKey();
        const refused = await voidIt(v.id, refusalKey);
        expect(outcome(refused)).toBe('409 TRANSFER_NOT_PENDING');
        const replayed = await voidIt(v.id, refusalKey);
        expect(replayed.headers['idempotent-replayed']).toBe('true');
        expect(replayed.body).toEqual(refused.body);
      });
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '1000', '0', '0')('900', '900'));

      const reverseKey = newKey();
      const reversal = await reverse(p.id, { amount: '40' }, reverseKey);
      expect(reversal.status).toBe(201);
      await nothingWritten(async () => {
        const again = await reverse(p.id, { amount: '40' }, reverseKey);
        expect(again.status).toBe(201);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.text).toBe(reversal.text);
      });
      expect((await getTransfer(p.id)).reversedAmount).toBe('40');
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '1040', '0', '0')('940', '940'));
      const list = await t.request('GET', `/v1/transfers?accountId=${bob.id}`, { token: op });
      expect(list.body.data.filter((x: any) => x.reversalOf === p.id).map((x: any) => x.id)).toEqual([
        reversal.body.id,
      ]);
    });
  });

  describe('races', () => {
    beforeAll(() => (racing = true));
    afterAll(() => (racing = false));

    it('lets exactly one of a simultaneous post and void through, 10 times over', async () => {
      const { alice, bob } = await pair('1000');
      let postedTotal = 0;
      for (let i = 0; i < 10; i++) {
        const p = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '10' })).body;
        const [posted, voided] =
          i % 2 === 0
            ? await Promise.all([post(p.id), voidIt(p.id)])
            : await Promise.all([voidIt(p.id), post(p.id)]).then(([v, q]) => [q, v] as const);
        expect(['200 posted / 409 TRANSFER_NOT_PENDING', '409 TRANSFER_NOT_PENDING / 200 voided']).toContain(
          `${outcome(posted)} / ${outcome(voided)}`,
        );
        const final = await getTransfer(p.id);
        expect(final.status).toBe(posted.status === 200 ? 'posted' : 'voided');
        expect(final.postedAmount).toBe(posted.status === 200 ? '10' : '0');
        if (posted.status === 200) postedTotal += 10;
      }
      expect(await balances(t, op, alice.id)).toEqual(
        bal(String(postedTotal), '1000', '0', '0')(String(1000 - postedTotal), String(1000 - postedTotal)),
      );
      expect(await balances(t, op, bob.id)).toEqual(
        bal('0', String(postedTotal), '0', '0')(String(postedTotal), String(postedTotal)),
      );
    });

    it('lets exactly 10 of 20 parallel reversals of 10 through against an original of 100', async () => {
      const { alice, bob } = await pair('1000');
      const pay = (await send({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '100' })).body;
      const results = await Promise.all(Array.from({ length: 20 }, () => reverse(pay.id, { amount: '10' })));
      expect(results.map(outcome).sort()).toEqual([
        ...Array<string>(10).fill('201 posted'),
        ...Array<string>(10).fill('422 REVERSAL_EXCEEDS_AMOUNT'),
      ]);
      expect(await getTransfer(pay.id)).toMatchObject({ postedAmount: '100', reversedAmount: '100' });
      const list = await t.request('GET', `/v1/transfers?accountId=${bob.id}&limit=500`, { token: op });
      const reversals = list.body.data.filter((x: any) => x.reversalOf === pay.id);
      expect(reversals).toHaveLength(10);
      expect(new Set(reversals.map((x: any) => x.id))).toEqual(
        new Set(results.filter((r) => r.status === 201).map((r) => r.body.id)),
      );
      expect(await balances(t, op, bob.id)).toEqual(bal('100', '100', '0', '0')('0', '0'));
      expect(await balances(t, op, alice.id)).toEqual(bal('100', '1100', '0', '0')('1000', '1000'));
    });

    it('ends each post racing its expiry either posted or expired, never both', async () => {
      const { alice, bob } = await pair('1000');
      const n = 10;
      const created: any[] = [];
      for (let i = 0; i < n; i++) {
        const res = await pending({
          debitAccountId: alice.id,
          creditAccountId: bob.id,
          amount: String(10 + i),
          timeoutSeconds: 1,
        });
        expect(res.status).toBe(201);
        created.push(res.body);
      }
      // each post fires at its own transfer's expiry moment plus an offset from -300 ms to +300 ms
      const results = await Promise.all(
        created.map(async (p, i) => {
          await sleepUntil(Date.parse(p.expiresAt) - 300 + (600 * i) / (n - 1));
          return post(p.id);
        }),
      );
      for (const r of results) expect(['200 posted', '409 TRANSFER_EXPIRED']).toContain(outcome(r));
      // the race really happened: some posts won, some lost
      expect(results.some((r) => r.status === 200)).toBe(true);
      expect(results.some((r) => r.status === 409)).toBe(true);

      const lastExpiry = Math.max(...created.map((p) => Date.parse(p.expiresAt)));
      const releasedAt = await waitForBalances(alice.id, (b) => b.debitsPending === '0');
      expect(releasedAt - lastExpiry).toBeLessThanOrEqual(5000);
      const entries = await entriesOf(alice.id);
      let postedTotal = 0;
      for (const [i, p] of created.entries()) {
        const final = await getTransfer(p.id);
        const mine = entries.filter((e) => e.transferId === p.id);
        if (results[i]!.status === 200) {
          expect(final).toMatchObject({ status: 'posted', postedAmount: p.amount });
          expect(mine.map((e) => e.amount)).toEqual([p.amount]);
          postedTotal += Number(p.amount);
        } else {
          expect(final).toMatchObject({ status: 'expired', postedAmount: '0', postedAt: null });
          expect(mine).toEqual([]);
        }
      }
      const total = String(postedTotal);
      expect(await balances(t, op, alice.id)).toEqual(
        bal(total, '1000', '0', '0')(String(1000 - postedTotal), String(1000 - postedTotal)),
      );
      expect(await balances(t, op, bob.id)).toEqual(bal('0', total, '0', '0')(total, total));
    });
  });

  describe('the database defends two-phase state by itself', () => {
    it('refuses to move a status backwards or sideways and keeps pending amounts conserved', async () => {
      const { alice, bob } = await pair('1000');
      const voided = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '10' })).body;
      expect((await voidIt(voided.id)).status).toBe(200);
      const posted = (await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '20' })).body;
      expect((await post(posted.id, { amount: '15' })).status).toBe(200);
      const held = (
        await pending({ debitAccountId: alice.id, creditAccountId: bob.id, amount: '30', timeoutSeconds: 3600 })
      ).body;
      const db = await connect(t.databaseUrl);
      try {
        const attempts = [
          `UPDATE transfers SET status = 'pending' WHERE id = '${voided.id}'`,
          `UPDATE transfers SET status = 'expired' WHERE id = '${voided.id}'`,
          `UPDATE transfers SET status = 'posted', posted_amount = amount, posted_at = now() WHERE id = '${voided.id}'`,
          `UPDATE transfers SET status = 'pending', posted_at = NULL WHERE id = '${posted.id}'`,
          `UPDATE transfers SET status = 'voided', posted_at = NULL WHERE id = '${posted.id}'`,
          `UPDATE transfers SET posted_amount = 20 WHERE id = '${posted.id}'`,
          `UPDATE transfers SET reversed_amount = 16 WHERE id = '${posted.id}'`,
          `UPDATE transfers SET expires_at = expires_at + interval '1 day' WHERE id = '${held.id}'`,
          `UPDATE transfers SET amount = 1 WHERE id = '${held.id}'`,
        ];
        for (const sql of attempts) await expect(db.query(sql)).rejects.toThrow();
        expect(
          (
            await db.query('SELECT id, status FROM transfers WHERE id = ANY($1) ORDER BY seq', [
              [voided.id, posted.id, held.id],
            ])
          ).rows,
        ).toEqual([
          { id: voided.id, status: 'voided' },
          { id: posted.id, status: 'posted' },
          { id: held.id, status: 'pending' },
        ]);
        const sums = await db.query(
          `SELECT currency, sum(debits_pending)::text AS dq, sum(credits_pending)::text AS cq FROM accounts GROUP BY currency`,
        );
        const usd = sums.rows.find((r) => r.currency === 'USD');
        expect(BigInt(usd.dq)).toBeGreaterThanOrEqual(30n);
        expect(usd.dq).toBe(usd.cq);
      } finally {
        await db.end();
      }
      expect(await balances(t, op, alice.id)).toEqual(bal('15', '1000', '30', '0')('985', '955'));
    });
  });
});
