import { createHash, randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { type ActorShown, actorOf, tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { ledgerViolations, rowCounts } from './support/invariants.js';
import { balances, createAccount, fundingSource, newKey, transfer } from './support/ledger.js';

const MAX = '9223372036854775807';

/** The ledger of everything made without naming one (migrations/1765100000000-ledgers.ts). */
const DEFAULT_LEDGER = '00000000-0000-4000-8000-000000000001';

describe('the double-entry core', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;
  let opActor: ActorShown;
  let funding: Awaited<ReturnType<typeof fundingSource>>;

  beforeAll(async () => {
    t = await startTestApp();
    const tokens = await tokensByRole(t);
    ({ operator: op, admin, auditor } = tokens);
    opActor = await actorOf(t, op);
    funding = await fundingSource(t, op);
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  /** Runs `act` and checks that no transfer, entry or balance changed. */
  async function nothingWritten(act: () => Promise<unknown>): Promise<void> {
    const before = await rowCounts(t.databaseUrl);
    await act();
    expect(await rowCounts(t.databaseUrl)).toEqual(before);
  }

  describe('accounts', () => {
    it('opens an account with zero balances', async () => {
      const res = await t.request('POST', '/v1/accounts', {
        token: op,
        body: {
          currency: 'USD',
          normalBalance: 'credit',
          name: 'Alice wallet',
          externalId: 'cust-42',
          metadata: { tier: 'gold' },
        },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        ledgerId: DEFAULT_LEDGER,
        currency: 'USD',
        normalBalance: 'credit',
        type: 'unclassified',
        allowNegative: false,
        status: 'active',
        name: 'Alice wallet',
        externalId: 'cust-42',
        metadata: { tier: 'gold' },
        balances: {
          debitsPosted: '0',
          creditsPosted: '0',
          debitsPending: '0',
          creditsPending: '0',
          posted: '0',
          available: '0',
        },
        version: 0,
        createdBy: opActor,
        createdAt: expect.stringMatching(/\.\d{3}Z$/),
        updatedAt: expect.stringMatching(/\.\d{3}Z$/),
      });
      const dup = await t.request('POST', '/v1/accounts', {
        token: op,
        body: { currency: 'EUR', normalBalance: 'debit', externalId: 'cust-42' },
      });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('DUPLICATE_EXTERNAL_ID');
      expect((await t.request('GET', `/v1/accounts/${res.body.id}`, { token: auditor })).body).toEqual(res.body);
    });

    it.each([
      [{ currency: 'usd', normalBalance: 'credit' }, 'currency'],
      [{ currency: 'US', normalBalance: 'credit' }, 'currency'],
      [{ currency: 'USD', normalBalance: 'sideways' }, 'normalBalance'],
      [{ currency: 'USD', normalBalance: 'credit', allowNegative: 'yes' }, 'allowNegative'],
      [{ currency: 'USD', normalBalance: 'credit', name: 'x'.repeat(201) }, 'name'],
      [{ currency: 'USD', normalBalance: 'credit', externalId: '' }, 'externalId'],
      [{ currency: 'USD', normalBalance: 'credit', metadata: { nested: { a: 'b' } } }, 'metadata'],
      [
        {
          currency: 'USD',
          normalBalance: 'credit',
          metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
        },
        'metadata',
      ],
      [{ currency: 'USD', normalBalance: 'credit', balance: '100' }, 'balance'],
    ])('refuses account body %j (field %s)', async (body, field) => {
      await nothingWritten(async () => {
        const res = await t.request('POST', '/v1/accounts', { token: op, body });
        expect(res.status).toBe(400);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      });
    });

    it('lists with filters and a cursor that neither skips nor repeats', async () => {
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await createAccount(t, op, { currency: 'JPY', name: `jpy-${i}` }));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await t.request(
          'GET',
          `/v1/accounts?currency=JPY&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { token: auditor },
        );
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((a: { id: string }) => a.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(made.map((a) => a.id));
      const byExternal = await createAccount(t, op, { externalId: 'find-me' });
      expect(
        (await t.request('GET', '/v1/accounts?externalId=find-me', { token: op })).body.data.map((a: any) => a.id),
      ).toEqual([byExternal.id]);
      expect((await t.request('GET', '/v1/accounts?status=bogus', { token: op })).status).toBe(400);
      expect((await t.request('GET', '/v1/accounts?limit=0', { token: op })).status).toBe(400);
      expect((await t.request('GET', '/v1/accounts/00000000-0000-4000-8000-000000000000', { token: op })).status).toBe(
        404,
      );
      expect((await t.request('GET', '/v1/accounts/nope', { token: op })).status).toBe(400);
    });

    it('freezes, unfreezes and closes accounts under the lifecycle rules', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      await funding.fund(a.id, '100');
      const frozen = await t.request('PATCH', `/v1/accounts/${a.id}`, {
        token: admin,
        body: { status: 'frozen', name: 'held' },
      });
      expect(frozen.status).toBe(200);
      expect(frozen.body).toMatchObject({ status: 'frozen', name: 'held' });
      await nothingWritten(async () => {
        const res = await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '1' });
        expect(res.status).toBe(422);
        expect(res.body.code).toBe('ACCOUNT_NOT_ACTIVE');
        const into = await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '1' });
        expect(into.body.code).toBe('ACCOUNT_NOT_ACTIVE');
      });
      expect(
        (await t.request('PATCH', `/v1/accounts/${a.id}`, { token: admin, body: { status: 'active' } })).status,
      ).toBe(200);
      const notZero = await t.request('PATCH', `/v1/accounts/${a.id}`, { token: admin, body: { status: 'closed' } });
      expect(notZero.status).toBe(409);
      expect(notZero.body.code).toBe('ACCOUNT_BALANCE_NOT_ZERO');
      expect(
        (await transfer(t, op, { debitAccountId: a.id, creditAccountId: funding.source.id, amount: '100' })).status,
      ).toBe(201);
      const closed = await t.request('PATCH', `/v1/accounts/${a.id}`, { token: admin, body: { status: 'closed' } });
      expect(closed.status).toBe(200);
      expect(closed.body.status).toBe('closed');
      const again = await t.request('PATCH', `/v1/accounts/${a.id}`, { token: admin, body: { status: 'active' } });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('ACCOUNT_CLOSED');
      expect(
        (await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '1' })).body.code,
      ).toBe('ACCOUNT_NOT_ACTIVE');
      expect(
        (await t.request('PATCH', `/v1/accounts/${a.id}`, { token: admin, body: { status: 'paused' } })).status,
      ).toBe(400);
    });
  });

  describe('transfers', () => {
    it('moves money with two entries whose hash chain an auditor can recompute from the API', async () => {
      const alice = await createAccount(t, op);
      const bob = await createAccount(t, op);
      await funding.fund(alice.id, '1000');
      const res = await transfer(t, op, {
        debitAccountId: alice.id,
        creditAccountId: bob.id,
        amount: '300',
        description: 'rent',
        metadata: { ref: 'r1' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        debitAccountId: alice.id,
        creditAccountId: bob.id,
        amount: '300',
        currency: 'USD',
        status: 'posted',
        postedAmount: '300',
        reversedAmount: '0',
        description: 'rent',
        externalId: null,
        metadata: { ref: 'r1' },
        batchId: null,
        reversalOf: null,
        expiresAt: null,
      });
      expect(res.body.postedAt).toBe(res.body.createdAt);
      expect(await balances(t, op, alice.id)).toEqual({
        debitsPosted: '300',
        creditsPosted: '1000',
        debitsPending: '0',
        creditsPending: '0',
        posted: '700',
        available: '700',
      });
      expect(await balances(t, op, bob.id)).toMatchObject({ creditsPosted: '300', posted: '300', available: '300' });
      // The answer carries both accounts as the transfer left them (SPEC 11); GET shows the transfer alone.
      const { accounts, ...shown } = res.body;
      expect(accounts).toEqual([
        { accountId: alice.id, version: 2, balances: await balances(t, op, alice.id) },
        { accountId: bob.id, version: 1, balances: await balances(t, op, bob.id) },
      ]);
      expect((await t.request('GET', `/v1/transfers/${res.body.id}`, { token: auditor })).body).toEqual(shown);

      const entries = (await t.request('GET', `/v1/accounts/${alice.id}/entries`, { token: auditor })).body.data;
      expect(entries.map((e: any) => [e.accountVersion, e.direction, e.amount, e.balanceAfter])).toEqual([
        [1, 'credit', '1000', '1000'],
        [2, 'debit', '300', '700'],
      ]);
      let prev = '0'.repeat(64);
      for (const e of entries) {
        expect(e.prevHash).toBe(prev);
        const line = [
          e.accountId,
          e.accountVersion,
          e.transferId,
          e.direction,
          e.amount,
          e.currency,
          e.balanceAfter,
          e.createdAt,
        ].join('|');
        expect(e.hash).toBe(createHash('sha256').update(`${prev}\n${line}`).digest('hex'));
        prev = e.hash;
      }
      expect(Number(entries[1].seq)).toBeGreaterThan(Number(entries[0].seq));
      const bobEntries = (await t.request('GET', `/v1/accounts/${bob.id}/entries`, { token: op })).body.data;
      expect(bobEntries).toEqual([
        expect.objectContaining({ transferId: res.body.id, direction: 'credit', amount: '300', accountVersion: 1 }),
      ]);
      expect((await t.request('GET', `/v1/accounts/${alice.id}`, { token: op })).body.version).toBe(2);
    });

    it('carries amounts beyond 2^53 exactly and refuses counter overflow with BALANCE_OVERFLOW', async () => {
      const big = await createAccount(t, op, { normalBalance: 'debit', allowNegative: true });
      const sink = await createAccount(t, op);
      const res = await transfer(t, op, {
        debitAccountId: big.id,
        creditAccountId: sink.id,
        amount: '9007199254740993',
      });
      expect(res.status).toBe(201);
      expect(res.body.amount).toBe('9007199254740993');
      expect((await balances(t, op, sink.id)).posted).toBe('9007199254740993');
      const max = await createAccount(t, op, { normalBalance: 'debit', allowNegative: true });
      const sink2 = await createAccount(t, op);
      expect((await transfer(t, op, { debitAccountId: max.id, creditAccountId: sink2.id, amount: MAX })).status).toBe(
        201,
      );
      expect((await balances(t, op, sink2.id)).posted).toBe(MAX);
      await nothingWritten(async () => {
        const over = await transfer(t, op, { debitAccountId: big.id, creditAccountId: sink2.id, amount: '1' });
        expect(over.status).toBe(422);
        expect(over.body.code).toBe('BALANCE_OVERFLOW');
      });
    });

    it('refuses each ledger rule violation with its code and writes nothing', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      const eur = await createAccount(t, op, { currency: 'EUR' });
      await funding.fund(a.id, '50');
      const cases: [Record<string, unknown>, string][] = [
        [{ debitAccountId: a.id, creditAccountId: a.id, amount: '1' }, 'SAME_ACCOUNT'],
        [
          { debitAccountId: '00000000-0000-4000-8000-000000000000', creditAccountId: b.id, amount: '1' },
          'ACCOUNT_NOT_FOUND',
        ],
        [
          { debitAccountId: a.id, creditAccountId: '00000000-0000-4000-8000-000000000000', amount: '1' },
          'ACCOUNT_NOT_FOUND',
        ],
        [{ debitAccountId: a.id, creditAccountId: eur.id, amount: '1' }, 'CURRENCY_MISMATCH'],
        [{ debitAccountId: a.id, creditAccountId: b.id, amount: '1', currency: 'EUR' }, 'CURRENCY_MISMATCH'],
        [{ debitAccountId: a.id, creditAccountId: b.id, amount: '51' }, 'INSUFFICIENT_FUNDS'],
      ];
      for (const [body, code] of cases) {
        await nothingWritten(async () => {
          const res = await transfer(t, op, body);
          expect({ code: res.body.code, status: res.status }).toEqual({ code, status: 422 });
        });
      }
      const insufficient = await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '51' });
      expect(insufficient.body.detail).toBe(`account ${a.id} has 50 available, 51 requested`);
      expect(
        (await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '50', externalId: 'pay-1' }))
          .status,
      ).toBe(201);
      await nothingWritten(async () => {
        const dup = await transfer(t, op, {
          debitAccountId: b.id,
          creditAccountId: a.id,
          amount: '1',
          externalId: 'pay-1',
        });
        expect(dup.status).toBe(409);
        expect(dup.body.code).toBe('DUPLICATE_EXTERNAL_ID');
      });
    });

    it.each(['0', '-1', '1.5', '1e3', '01', ' 1', '+1', '9223372036854775808', '', 'NaN', 100, null])(
      'refuses amount %j with 400',
      async (amount) => {
        const a = await createAccount(t, op);
        await nothingWritten(async () => {
          const res = await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount });
          expect(res.status).toBe(400);
          expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('amount');
        });
      },
    );

    it('lists transfers by account, status, externalId and time', async () => {
      const a = await createAccount(t, op);
      await funding.fund(a.id, '10');
      await funding.fund(a.id, '20');
      const list = await t.request('GET', `/v1/transfers?accountId=${a.id}&status=posted&limit=1`, { token: auditor });
      expect(list.status).toBe(200);
      expect(list.body.data.map((x: any) => x.amount)).toEqual(['10']);
      const next = await t.request('GET', `/v1/transfers?accountId=${a.id}&limit=1&cursor=${list.body.nextCursor}`, {
        token: auditor,
      });
      expect(next.body.data.map((x: any) => x.amount)).toEqual(['20']);
      expect(next.body.nextCursor).toBeNull();
      const future = await t.request('GET', `/v1/transfers?accountId=${a.id}&from=2999-01-01T00:00:00.000Z`, {
        token: op,
      });
      expect(future.body.data).toEqual([]);
      expect((await t.request('GET', '/v1/transfers?from=yesterday', { token: op })).status).toBe(400);
      expect((await t.request('GET', '/v1/transfers/00000000-0000-4000-8000-000000000000', { token: op })).status).toBe(
        404,
      );
    });
  });

  describe('batches', () => {
    it('applies a batch atomically, later transfers seeing earlier ones', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      const fee = await createAccount(t, op);
      const res = await t.request('POST', '/v1/transfers/batch', {
        token: op,
        body: {
          transfers: [
            { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '100', currency: 'USD' },
            { debitAccountId: a.id, creditAccountId: b.id, amount: '90', currency: 'USD' },
            { debitAccountId: a.id, creditAccountId: fee.id, amount: '10', currency: 'USD' },
          ],
        },
      });
      expect(res.status).toBe(201);
      expect(res.body.transfers).toHaveLength(3);
      expect(res.body.transfers.every((x: any) => x.batchId === res.body.batchId)).toBe(true);
      expect((await balances(t, op, a.id)).posted).toBe('0');
      expect((await balances(t, op, b.id)).posted).toBe('90');
      expect((await balances(t, op, fee.id)).posted).toBe('10');
    });

    it('refuses a whole batch when its last transfer is refused, naming its index', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      await nothingWritten(async () => {
        const res = await t.request('POST', '/v1/transfers/batch', {
          token: op,
          body: {
            transfers: [
              { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '100', currency: 'USD' },
              { debitAccountId: a.id, creditAccountId: b.id, amount: '60', currency: 'USD' },
              { debitAccountId: a.id, creditAccountId: b.id, amount: '60', currency: 'USD' },
            ],
          },
        });
        expect(res.status).toBe(422);
        expect(res.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS', index: 2 });
      });
      const dupIds = await t.request('POST', '/v1/transfers/batch', {
        token: op,
        body: {
          transfers: [
            {
              debitAccountId: funding.source.id,
              creditAccountId: a.id,
              amount: '1',
              currency: 'USD',
              externalId: 'same',
            },
            {
              debitAccountId: funding.source.id,
              creditAccountId: a.id,
              amount: '1',
              currency: 'USD',
              externalId: 'same',
            },
          ],
        },
      });
      expect(dupIds.body).toMatchObject({ status: 409, code: 'DUPLICATE_EXTERNAL_ID', index: 1 });
    });

    it('commits concurrent batches that share a group written in several parts, one of them refused', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      await funding.fund(a.id, '250');
      const metric = (text: string, name: string): number =>
        Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      /** Groups that carried more than 128 transfers: batches of 100, so several writes (one per batch). */
      const bigGroups = async (): Promise<number> => {
        const text = (await t.request('GET', '/metrics')).text;
        return (
          metric(text, 'ledger_group_commit_units_count') -
          metric(text, 'ledger_group_commit_units_bucket\\{le="128"\\}')
        );
      };
      const before = await bigGroups();
      const batch = (debitAccountId: string, creditAccountId: string, amount: string) => ({
        transfers: Array.from({ length: 100 }, () => ({ debitAccountId, creditAccountId, amount, currency: 'USD' })),
      });
      // Whatever order the group takes them in, a never runs short in the 1-cent batches (250 - 200 >= 0)
      // and always does in the 10-cent one (1,000 > 450).
      const bodies = [
        batch(funding.source.id, a.id, '1'),
        batch(a.id, b.id, '1'),
        batch(a.id, b.id, '10'),
        batch(funding.source.id, a.id, '1'),
        batch(a.id, b.id, '1'),
      ];
      const answers = await Promise.all(
        bodies.map((body) =>
          t.request('POST', '/v1/transfers/batch', { token: op, body, headers: { 'idempotency-key': newKey() } }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual([201, 201, 422, 201, 201]);
      expect(answers[2]!.body.code).toBe('INSUFFICIENT_FUNDS');
      expect(await bigGroups()).toBeGreaterThan(before);
      expect((await balances(t, op, a.id)).posted).toBe('250');
      expect((await balances(t, op, b.id)).posted).toBe('200');
      const account = await t.request('GET', `/v1/accounts/${a.id}`, { token: op });
      expect(account.body.version).toBe(1 + 400);
    });

    it('refuses empty, oversized and malformed batches with 400', async () => {
      const one = {
        debitAccountId: funding.source.id,
        creditAccountId: funding.source.id,
        amount: '1',
        currency: 'USD',
      };
      for (const body of [
        { transfers: [] },
        { transfers: Array.from({ length: 101 }, () => one) },
        { transfers: [{ ...one, amount: 1 }] },
        {},
      ]) {
        const res = await t.request('POST', '/v1/transfers/batch', { token: op, body });
        expect(res.status).toBe(400);
      }
    });
  });

  describe('idempotency', () => {
    it('replays the first response for the same key and body, and refuses the key for another request', async () => {
      const a = await createAccount(t, op);
      const key = newKey();
      const body = { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '5' };
      const first = await transfer(t, op, body, key);
      const second = await transfer(t, op, body, key);
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(second.text).toBe(first.text);
      expect((await balances(t, op, a.id)).posted).toBe('5');
      const reused = await transfer(t, op, { ...body, amount: '6' }, key);
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      // scoped per user: another operator may use the same key for its own request
      const other = (await tokensByRole(t)).operator;
      expect((await transfer(t, other, body, key)).status).toBe(201);
      expect((await balances(t, op, a.id)).posted).toBe('10');
    });

    it('stores a business refusal and replays it, even once the refusal would no longer happen', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      const key = newKey();
      const body = { debitAccountId: a.id, creditAccountId: b.id, amount: '5' };
      const refused = await transfer(t, op, body, key);
      expect(refused.status).toBe(422);
      await funding.fund(a.id, '5');
      const replay = await transfer(t, op, body, key);
      expect(replay.status).toBe(422);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(String(replay.headers['content-type'])).toContain('application/problem+json');
      expect(replay.body).toEqual(refused.body);
      expect((await balances(t, op, b.id)).posted).toBe('0');
    });

    it('does not store validation failures, and refuses malformed keys', async () => {
      const a = await createAccount(t, op);
      const key = newKey();
      expect(
        (await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: 'x' }, key)).status,
      ).toBe(400);
      expect(
        (await transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '1' }, key)).status,
      ).toBe(201);
      const bad = await transfer(
        t,
        op,
        { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '1' },
        'k'.repeat(256),
      );
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toBe('Idempotency-Key');
    });

    it('applies 20 parallel requests with one key exactly once', async () => {
      const a = await createAccount(t, op);
      const key = newKey();
      const body = { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '7' };
      const results = await Promise.all(Array.from({ length: 20 }, () => transfer(t, op, body, key)));
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      for (const r of results) {
        expect(r.status === 201 || (r.status === 409 && r.body.code === 'IDEMPOTENCY_KEY_IN_USE')).toBe(true);
      }
      expect(results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
      expect((await balances(t, op, a.id)).posted).toBe('7');
      const list = await t.request('GET', `/v1/transfers?accountId=${a.id}`, { token: op });
      expect(list.body.data).toHaveLength(1);
    });
  });

  describe('concurrency', () => {
    it('lets exactly 10 of 50 parallel transfers of 1 out of an account holding 10 through', async () => {
      const a = await createAccount(t, op);
      const sink = await createAccount(t, op);
      await funding.fund(a.id, '10');
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          transfer(t, op, { debitAccountId: a.id, creditAccountId: sink.id, amount: '1' }),
        ),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(10);
      expect(results.filter((r) => r.status === 422 && r.body.code === 'INSUFFICIENT_FUNDS')).toHaveLength(40);
      expect(await balances(t, op, a.id)).toMatchObject({ posted: '0', available: '0', debitsPosted: '10' });
      expect((await balances(t, op, sink.id)).posted).toBe('10');
      const entries = await t.request('GET', `/v1/accounts/${a.id}/entries?limit=500`, { token: op });
      expect(entries.body.data.map((e: any) => e.accountVersion)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    });
  });

  describe('group commit', () => {
    it('commits concurrent requests together, each succeeding or failing on its own', async () => {
      const rich = await createAccount(t, op);
      const poor = await createAccount(t, op);
      const sink = await createAccount(t, op);
      await funding.fund(rich.id, '100');
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 1
            ? transfer(t, op, { debitAccountId: poor.id, creditAccountId: sink.id, amount: '1' }, newKey())
            : transfer(t, op, { debitAccountId: rich.id, creditAccountId: sink.id, amount: '5' }, newKey()),
        ),
      );
      expect(
        results.filter((r, i) => i % 3 === 1 && r.status === 422 && r.body.code === 'INSUFFICIENT_FUNDS'),
      ).toHaveLength(10);
      expect(results.filter((r, i) => i % 3 !== 1 && r.status === 201)).toHaveLength(20);
      expect(await balances(t, op, rich.id)).toMatchObject({ posted: '0', available: '0' });
      expect((await balances(t, op, sink.id)).posted).toBe('100');
      expect((await balances(t, op, poor.id)).posted).toBe('0');
    });

    it('reports in /metrics how many units each group carried and how long it took', async () => {
      const a = await createAccount(t, op);
      const groupMetrics = async (): Promise<{ units: number; groups: number; timed: number }> => {
        const text = (await t.request('GET', '/metrics')).text;
        const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
        return {
          units: value('ledger_group_commit_units_sum'),
          groups: value('ledger_group_commit_units_count'),
          timed: value('ledger_group_commit_duration_seconds_count'),
        };
      };
      const before = await groupMetrics();
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '1' }, newKey()),
        ),
      );
      expect(results.every((r) => r.status === 201)).toBe(true);
      const after = await groupMetrics();
      // At least these 30 (the expiry sweeper may have run a group of its own meanwhile).
      expect(after.units - before.units).toBeGreaterThanOrEqual(30);
      // Requests that arrived while a transaction was in flight went into the next one together.
      expect(after.groups - before.groups).toBeGreaterThanOrEqual(1);
      expect(after.groups - before.groups).toBeLessThan(after.units - before.units);
      expect(after.timed - before.timed).toBe(after.groups - before.groups);
    });

    it('answers one key sent concurrently with two different bodies once, and refuses the other', async () => {
      const a = await createAccount(t, op);
      const key = newKey();
      const [x, y] = await Promise.all([
        transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '3' }, key),
        transfer(t, op, { debitAccountId: funding.source.id, creditAccountId: a.id, amount: '4' }, key),
      ]);
      expect([x.status, y.status].sort()).toEqual([201, 422]);
      expect([x, y].find((r) => r.status === 422)!.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const posted = (await balances(t, op, a.id)).posted;
      expect(['3', '4']).toContain(posted);
    });
  });

  describe('the database defends the ledger by itself', () => {
    it('refuses updates and deletes of entries, and changes to a transfer or a constrained balance', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      await funding.fund(a.id, '10');
      const tr = await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '4' });
      const db = await connect(t.databaseUrl);
      try {
        const attempts = [
          `UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = '${a.id}'`,
          `DELETE FROM ledger_entries WHERE account_id = '${a.id}'`,
          `TRUNCATE ledger_entries CASCADE`,
          `UPDATE transfers SET amount = 5 WHERE id = '${tr.body.id}'`,
          `UPDATE transfers SET currency = 'EUR' WHERE id = '${tr.body.id}'`,
          `UPDATE transfers SET credit_account_id = '${funding.source.id}' WHERE id = '${tr.body.id}'`,
          `UPDATE transfers SET status = 'pending', posted_at = NULL WHERE id = '${tr.body.id}'`,
          `DELETE FROM transfers WHERE id = '${tr.body.id}'`,
          `UPDATE accounts SET debits_posted = debits_posted + 100 WHERE id = '${a.id}'`,
          `UPDATE accounts SET currency = 'EUR' WHERE id = '${a.id}'`,
          `DELETE FROM accounts WHERE id = '${b.id}'`,
          `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status, created_at)
             VALUES (gen_random_uuid(), '${DEFAULT_LEDGER}', '${a.id}', '${a.id}', 1, 'USD', 'pending', now())`,
          `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status, created_at)
             VALUES (gen_random_uuid(), '${DEFAULT_LEDGER}', '${a.id}', '${b.id}', 0, 'USD', 'pending', now())`,
          `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version, balance_after, created_at, prev_hash, hash)
             VALUES (gen_random_uuid(), '${DEFAULT_LEDGER}', '${tr.body.id}', '${a.id}', 'USD', 'debit', 1, 2, 0, now(), '', '')`,
          `UPDATE accounts SET ledger_id = gen_random_uuid() WHERE id = '${a.id}'`,
          `UPDATE transfers SET ledger_id = gen_random_uuid() WHERE id = '${tr.body.id}'`,
        ];
        for (const sql of attempts) await expect(db.query(sql)).rejects.toThrow();
      } finally {
        await db.end();
      }
    });

    it('refuses a transfer or entry that refers to a missing account or transfer, in any statement shape', async () => {
      const a = await createAccount(t, op);
      const b = await createAccount(t, op);
      await funding.fund(a.id, '10');
      const tr = await transfer(t, op, { debitAccountId: a.id, creditAccountId: b.id, amount: '4' });
      const missing = `'${randomUUID()}'`;
      const quoted = (id: string): string => `'${id}'`;
      const [A, B, T] = [quoted(a.id), quoted(b.id), quoted(tr.body.id)];
      const newTransfers = (
        rows: [debit: string, credit: string, reversalOf: string][],
        ledger = DEFAULT_LEDGER,
      ): string =>
        `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status,
           posted_amount, reversal_of, created_at, posted_at)
         SELECT gen_random_uuid(), '${ledger}', d::uuid, c::uuid, 1, 'USD', 'posted', 1, r::uuid, now(), now()
         FROM (VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS x(d, c, r)`;
      const newEntries = (rows: [transfer: string, account: string][], ledger = DEFAULT_LEDGER): string =>
        `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount,
           account_version, balance_after, debits_after, credits_after, created_at, prev_hash, hash)
         SELECT gen_random_uuid(), '${ledger}', t::uuid, a::uuid, 'USD', 'debit', 1, 100 + n, 0, 0, 0, now(), 'p', 'h'
         FROM (VALUES ${rows.map((r, i) => `(${r.join(', ')}, ${i})`).join(', ')}) AS x(t, a, n)`;
      const db = await connect(t.databaseUrl);
      const code = (sql: string): Promise<unknown> =>
        db.query(sql).then(
          () => 'accepted',
          (e: { code?: string }) => e.code,
        );
      try {
        // 23503 foreign_key_violation, as from the foreign keys these checks replace; one bad row among good
        // ones fails the statement.
        expect(await code(newTransfers([[missing, B, 'NULL']]))).toBe('23503');
        expect(
          await code(
            newTransfers([
              [A, B, 'NULL'],
              [A, missing, 'NULL'],
            ]),
          ),
        ).toBe('23503');
        expect(
          await code(
            newTransfers([
              [A, B, T],
              [A, B, missing],
            ]),
          ),
        ).toBe('23503');
        expect(await code(newEntries([[missing, A]]))).toBe('23503');
        expect(
          await code(
            newEntries([
              [T, A],
              [T, missing],
              [T, B],
            ]),
          ),
        ).toBe('23503');
        // In data-modifying CTEs, as the service writes: entries may refer to a transfer of the same statement.
        const both = (entries: [string, string][]): string =>
          `WITH new_transfer AS (${newTransfers([[A, B, T]])} RETURNING id) ${newEntries(entries)}`;
        expect(await code(both([['(SELECT id FROM new_transfer)', missing]]))).toBe('23503');
        // Every reference must also be in the row's own ledger (invariant 10).
        const other = (
          await db.query<{ id: string }>(
            `INSERT INTO ledgers (id, name) VALUES (gen_random_uuid(), 'elsewhere-${randomUUID().slice(0, 8)}') RETURNING id`,
          )
        ).rows[0]!.id;
        expect(await code(newTransfers([[A, B, 'NULL']], other))).toBe('23503');
        expect(await code(newEntries([[T, A]], other))).toBe('23503');
        await db.query('BEGIN');
        expect(await code(both([['(SELECT id FROM new_transfer)', A]]))).toBe('accepted');
        await db.query('ROLLBACK');
        // Nothing they refer to can be removed.
        for (const table of ['accounts', 'transfers', 'ledger_entries']) {
          expect(await code(`TRUNCATE ${table} CASCADE`)).toBe('23001');
        }
        expect(await code(`DELETE FROM accounts WHERE id = ${A}`)).toBe('23001');
        expect(await code(`DELETE FROM transfers WHERE id = ${T}`)).toBe('23001');
      } finally {
        await db.end();
      }
    });
  });
});
