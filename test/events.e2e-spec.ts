import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const USD = (amount: string) => ({ amount, currency: 'USD' });

describe('events (SPEC 13)', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin, auditor } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  const post = async (path: string, body: unknown, token = op, key?: string) =>
    t.request('POST', path, { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const ok = async (path: string, body: unknown, token = op, key?: string) => {
    const res = await post(path, body, token, key);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  /** Every event of a ledger after `after`, paging through. */
  const eventsOf = async (ledgerId: string, after = '0', token = auditor): Promise<any[]> => {
    const all: any[] = [];
    for (let cursor = after; ;) {
      const res = await t.request('GET', `/v1/events?ledgerId=${ledgerId}&after=${cursor}&limit=500`, { token });
      expect(res.status).toBe(200);
      all.push(...res.body.data);
      if (res.body.nextCursor === null) return all;
      cursor = res.body.nextCursor;
    }
  };

  it('writes exactly one event per committed change, with the resource as GET shows it, none for refusals, dry runs or replays', async () => {
    const ledger = await ok('/v1/ledgers', { name: `ev-${randomUUID().slice(0, 8)}` }, admin);
    const account = (body: object) => ok('/v1/accounts', { ledgerId: ledger.id, currency: 'USD', ...body });
    const a = await account({ type: 'asset', allowNegative: true });
    const b = await account({ type: 'liability' });
    const updated = await t.request('PATCH', `/v1/accounts/${b.id}`, { token: admin, body: { name: 'renamed' } });
    expect(updated.status).toBe(200);
    const move = (amount: string, extra: object = {}) => ({
      debitAccountId: a.id,
      creditAccountId: b.id,
      ...USD(amount),
      ...extra,
    });
    const t1 = await ok('/v1/transfers', move('100'), op, 'k-t1');
    const t2 = await ok('/v1/transfers', move('5', { pending: true }));
    const t2posted = await ok(`/v1/transfers/${t2.id}/post`, {});
    const t3 = await ok('/v1/transfers', move('6', { pending: true }));
    const t3voided = await ok(`/v1/transfers/${t3.id}/void`, {});
    const batch = await ok('/v1/transfers/batch', { transfers: [move('1'), move('2')] });
    const reversal = await ok(`/v1/transfers/${t1.id}/reverse`, { amount: '40' });
    const postings = (amount: string) => [
      { accountId: a.id, direction: 'debit', ...USD(amount) },
      { accountId: b.id, direction: 'credit', ...USD(amount) },
    ];
    const x1 = await ok('/v1/transactions', { postings: postings('10') });
    const x2 = await ok('/v1/transactions', { postings: postings('3'), pending: true });
    const x2posted = await ok(`/v1/transactions/${x2.id}/post`, {});
    const x3 = await ok('/v1/transactions', { postings: postings('4'), pending: true });
    const x3voided = await ok(`/v1/transactions/${x3.id}/void`, {});
    const x1reversal = await ok(`/v1/transactions/${x1.id}/reverse`, {});
    // None of these commits a change.
    const refused = [
      await post('/v1/transfers', { ...move('1000000'), debitAccountId: b.id, creditAccountId: a.id }),
      await post('/v1/transfers?dryRun=true', move('1')),
      await post('/v1/transfers/batch', { transfers: [move('1'), { ...move('1'), creditAccountId: a.id }] }),
      await post(`/v1/transfers/${t1.id}/post`, {}),
      await post(`/v1/transactions/${x1.id}/reverse`, {}),
      await post('/v1/transactions?dryRun=true', { postings: postings('1') }),
      await post('/v1/transfers', move('100'), op, 'k-t1'),
    ];
    expect(refused.map((r) => r.status)).toEqual([422, 200, 422, 409, 409, 200, 201]);
    expect(refused[6]!.headers['idempotent-replayed']).toBe('true');
    const closed = await ok(`/v1/ledgers/${ledger.id}/close`, { until: new Date().toISOString() }, admin);

    const events = await eventsOf(ledger.id);
    const strip = ({ accounts: _a, ...resource }: any) => resource;
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['ledger.created', ledger],
      ['account.created', a],
      ['account.created', b],
      ['account.updated', updated.body],
      ['transfer.created', strip(t1)],
      ['transfer.created', strip(t2)],
      ['transfer.posted', strip(t2posted)],
      ['transfer.created', strip(t3)],
      ['transfer.voided', strip(t3voided)],
      ['transfer.created', batch.transfers[0]],
      ['transfer.created', batch.transfers[1]],
      ['transfer.created', strip(reversal)],
      ['transfer.reversed', { ...strip(t1), reversedAmount: '40' }],
      ['transaction.created', strip(x1)],
      ['transaction.created', strip(x2)],
      ['transaction.posted', strip(x2posted)],
      ['transaction.created', strip(x3)],
      ['transaction.voided', strip(x3voided)],
      ['transaction.created', strip(x1reversal)],
      ['transaction.reversed', { ...strip(x1), reversedBy: x1reversal.id }],
      ['ledger.closed', closed],
    ]);
    // The event is the resource as its GET shows it (nothing has changed these since).
    for (const [type, path] of [
      ['transfer.posted', `/v1/transfers/${t2.id}`],
      ['transfer.reversed', `/v1/transfers/${t1.id}`],
      ['transaction.reversed', `/v1/transactions/${x1.id}`],
      ['account.updated', `/v1/accounts/${b.id}`],
    ]) {
      const shown = (await t.request('GET', path!, { token: auditor })).body;
      const event = events.find((e) => e.type === type)!;
      expect(event.data).toEqual(
        type === 'account.updated'
          ? { ...shown, balances: event.data.balances, version: event.data.version, updatedAt: event.data.updatedAt }
          : shown,
      );
    }
    for (const e of events) {
      expect(e).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        seq: expect.stringMatching(/^[0-9]+$/),
        type: e.type,
        ledgerId: ledger.id,
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        data: e.data,
      });
    }
    const seqs = events.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // Against the journal and the administrative log: every transfer or transaction with entries was created
    // once, and every logged creation of this ledger is an event.
    const journal = (await t.request('GET', `/v1/ledger/entries?ledgerId=${ledger.id}&limit=500`, { token: auditor }))
      .body.data;
    const moved = new Set(journal.map((e: any) => e.transferId));
    const created = events.filter(
      (e) => e.type.endsWith('.created') && !e.type.startsWith('ledger') && !e.type.startsWith('account'),
    );
    expect(new Set(created.map((e) => e.data.id)).size).toBe(created.length);
    for (const id of moved) expect(created.map((e) => e.data.id)).toContain(id);
    const log = (await t.request('GET', `/v1/audit/log?ledgerId=${ledger.id}&limit=500`, { token: auditor })).body.data;
    const loggedActions = log
      .map((r: any) => r.action)
      .filter((a: string) => a.startsWith('account.') || a.startsWith('ledger.'));
    const eventTypes = events.map((e) => e.type).filter((x) => x.startsWith('account.') || x.startsWith('ledger.'));
    expect([...eventTypes].sort()).toEqual([...loggedActions].sort());

    // Filters: types, and `lastSeq` to go on past what they leave out.
    const only = await t.request('GET', `/v1/events?ledgerId=${ledger.id}&types=transfer.voided,transaction.voided`, {
      token: auditor,
    });
    expect(only.body.data.map((e: any) => e.type)).toEqual(['transfer.voided', 'transaction.voided']);
    expect(BigInt(only.body.lastSeq)).toBeGreaterThanOrEqual(BigInt(events[events.length - 1].seq));
    expect((await t.request('GET', '/v1/events?types=nope', { token: auditor })).status).toBe(400);
    expect((await t.request('GET', '/v1/events?waitSeconds=31', { token: auditor })).status).toBe(400);
  });

  it('writes transfer.expired and transaction.expired when the sweeper releases a reservation', async () => {
    const a = await ok('/v1/accounts', { currency: 'USD', normalBalance: 'debit', allowNegative: true });
    const b = await ok('/v1/accounts', { currency: 'USD', normalBalance: 'credit' });
    const before = (await t.request('GET', '/v1/events?types=transfer.expired,transaction.expired', { token: auditor }))
      .body.lastSeq;
    const tr = await ok('/v1/transfers', {
      debitAccountId: a.id,
      creditAccountId: b.id,
      ...USD('3'),
      pending: true,
      timeoutSeconds: 1,
    });
    const tx = await ok('/v1/transactions', {
      pending: true,
      timeoutSeconds: 1,
      postings: [
        { accountId: a.id, direction: 'debit', ...USD('2') },
        { accountId: b.id, direction: 'credit', ...USD('2') },
      ],
    });
    const expired: any[] = [];
    for (let waited = 0; expired.length < 2 && waited < 8000; waited += 250) {
      await sleep(250);
      const res = await t.request('GET', `/v1/events?types=transfer.expired,transaction.expired&after=${before}`, {
        token: auditor,
      });
      expired.splice(0, expired.length, ...res.body.data);
    }
    expect(expired.map((e) => [e.type, e.data.id, e.data.status, e.data.voidedBy.type])).toEqual([
      ['transfer.expired', tr.id, 'expired', 'system'],
      ['transaction.expired', tx.id, 'expired', 'system'],
    ]);
    expect(expired[0].data).toEqual((await t.request('GET', `/v1/transfers/${tr.id}`, { token: auditor })).body);
  });

  it('wakes a long poll within 100 ms of the commit that writes an event, and not before', async () => {
    const a = await ok('/v1/accounts', { currency: 'USD', normalBalance: 'debit', allowNegative: true });
    const b = await ok('/v1/accounts', { currency: 'USD', normalBalance: 'credit' });
    // Caught up with everything so far.
    let after = '0';
    for (;;) {
      const page = (await t.request('GET', `/v1/events?after=${after}&limit=500`, { token: auditor })).body;
      if (page.nextCursor === null) {
        after = page.lastSeq;
        break;
      }
      after = page.nextCursor;
    }
    for (let round = 0; round < 3; round++) {
      const start = Date.now();
      const polled = t
        .request('GET', `/v1/events?after=${after}&types=transfer.created&waitSeconds=10`, { token: auditor })
        .then((r) => ({ r, at: Date.now() }));
      await sleep(300);
      const moved = await ok('/v1/transfers', { debitAccountId: a.id, creditAccountId: b.id, ...USD('1') });
      const answered = Date.now();
      const { r, at } = await polled;
      expect(r.status).toBe(200);
      expect(at - start).toBeGreaterThanOrEqual(290);
      expect(at - answered).toBeLessThan(100);
      expect(r.body.data.map((e: any) => e.data.id)).toEqual([moved.id]);
      after = r.body.lastSeq;
    }
  });

  it('hands a consumer tailing the feed every event exactly once, in seq order, while 8 writers commit on two instances', async () => {
    const second = await startTestApp({}, t.databaseUrl);
    try {
      const ledger = await ok('/v1/ledgers', { name: `tail-${randomUUID().slice(0, 8)}` }, admin);
      const apps = [t, second];
      const opTokens = [op, (await tokensByRole(second)).operator];
      const source = await ok('/v1/accounts', {
        ledgerId: ledger.id,
        currency: 'USD',
        normalBalance: 'debit',
        allowNegative: true,
      });
      const sinks = await Promise.all(
        Array.from({ length: 8 }, () =>
          ok('/v1/accounts', { ledgerId: ledger.id, currency: 'USD', normalBalance: 'credit' }),
        ),
      );
      const start = (await t.request('GET', `/v1/events?ledgerId=${ledger.id}`, { token: auditor })).body.lastSeq;
      const created = new Set<string>();
      let writing = true;
      const writers = sinks.map(async (sink, w) => {
        const app = apps[w % 2]!;
        for (let i = 0; i < 25; i++) {
          const res = await app.request('POST', '/v1/transfers', {
            token: opTokens[w % 2]!,
            body: { debitAccountId: source.id, creditAccountId: sink.id, ...USD('1') },
          });
          expect(res.status).toBe(201);
          created.add(res.body.id);
        }
      });
      const seen: any[] = [];
      const consumer = (async () => {
        let after = start;
        while (writing || seen.length < created.size) {
          const res = await second.request(
            'GET',
            `/v1/events?ledgerId=${ledger.id}&types=transfer.created&after=${after}&limit=37&waitSeconds=1`,
            { token: auditor },
          );
          expect(res.status).toBe(200);
          seen.push(...res.body.data);
          after = res.body.nextCursor ?? res.body.lastSeq;
        }
      })();
      await Promise.all(writers);
      writing = false;
      await consumer;
      expect(seen.map((e) => e.data.id).sort()).toEqual([...created].sort());
      const seqs = seen.map((e) => BigInt(e.seq));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
    } finally {
      await second.close();
    }
  });
});
