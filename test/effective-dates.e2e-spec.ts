import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { transfer } from './support/ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** SPEC 6's entry hash, written out here: a backdated entry appends `|effectiveAt` (SPEC 12). */
function expectedHash(e: any): string {
  const fields = [e.accountId, e.accountVersion, e.transferId, e.direction, e.amount, e.currency, e.balanceAfter];
  fields.push(e.createdAt);
  if (e.effectiveAt !== e.createdAt) fields.push(e.effectiveAt);
  return createHash('sha256')
    .update(`${e.prevHash}\n${fields.join('|')}`)
    .digest('hex');
}

describe('effective dates and closed periods (SPEC 12)', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, admin, auditor } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  /** A ledger of its own with an asset and a revenue account, both free to go negative. */
  async function books(prefix: string) {
    const ledger = (
      await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `${prefix}-${randomUUID().slice(0, 8)}` } })
    ).body;
    const open = async (type: string) =>
      (
        await t.request('POST', '/v1/accounts', {
          token: op,
          body: { ledgerId: ledger.id, currency: 'USD', type, allowNegative: true },
        })
      ).body;
    return { ledger, cash: await open('asset'), sales: await open('revenue') };
  }
  const get = async (path: string) => {
    const res = await t.request('GET', path, { token: auditor });
    expect(res.status).toBe(200);
    return res.body;
  };
  const entriesOf = async (accountId: string): Promise<any[]> =>
    (await get(`/v1/accounts/${accountId}/entries?limit=500`)).data;

  it('dates a transfer in the books, keeps when it was recorded, and hashes the date into backdated entries', async () => {
    const { cash, sales } = await books('dated');
    const effectiveAt = iso(Date.now() - 3 * DAY);
    const undated = await transfer(t, op, { debitAccountId: cash.id, creditAccountId: sales.id, amount: '100' });
    const dated = await transfer(t, op, {
      debitAccountId: cash.id,
      creditAccountId: sales.id,
      amount: '30',
      effectiveAt,
    });
    expect([undated.status, dated.status]).toEqual([201, 201]);
    expect(undated.body.effectiveAt).toBe(undated.body.createdAt);
    expect(dated.body.effectiveAt).toBe(effectiveAt);
    expect(Date.parse(dated.body.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await get(`/v1/transfers/${dated.body.id}`)).effectiveAt).toBe(effectiveAt);
    expect((await get(`/v1/transactions/${dated.body.id}`)).effectiveAt).toBe(effectiveAt);

    const entries = [...(await entriesOf(cash.id)), ...(await entriesOf(sales.id))];
    expect(entries).toHaveLength(4);
    for (const e of entries) {
      expect(e.effectiveAt).toBe(e.transferId === dated.body.id ? effectiveAt : e.createdAt);
      // Both forms recomputed: dated when written, exactly as before effective dates; backdated, with the date.
      expect(e.hash).toBe(expectedHash(e));
    }
    const verify = await get('/v1/audit/verify');
    expect(verify).toMatchObject({ ok: true, problems: [] });

    // The day totals that balances by effective date read are checked by verify against the entries too.
    const db = await connect(t.databaseUrl);
    try {
      await db.query(`UPDATE backdated_totals SET credits = credits + 1 WHERE account_id = $1 AND axis = 'recorded'`, [
        sales.id,
      ]);
      const tampered = await get('/v1/audit/verify');
      expect(tampered.ok).toBe(false);
      expect(tampered.problems).toEqual([
        expect.objectContaining({
          code: 'BALANCE_MISMATCH',
          accountId: sales.id,
          detail: expect.stringMatching(
            /^backdated totals by recorded day .*: stored 0 \/ 31 in 1 entries, the entries sum to 0 \/ 30 in 1$/,
          ),
        }),
      ]);
    } finally {
      await db.query(`UPDATE backdated_totals SET credits = credits - 1 WHERE account_id = $1 AND axis = 'recorded'`, [
        sales.id,
      ]);
      await db.end();
    }
    expect((await get('/v1/audit/verify')).ok).toBe(true);
  });

  it('answers a balance as of before, at and after the effective instant, and as known before it was recorded', async () => {
    const { cash, sales } = await books('asof');
    const x = (await transfer(t, op, { debitAccountId: cash.id, creditAccountId: sales.id, amount: '100' })).body;
    await sleep(5);
    const effective = Date.parse(x.createdAt) - HOUR;
    const y = (
      await transfer(t, op, {
        debitAccountId: cash.id,
        creditAccountId: sales.id,
        amount: '30',
        effectiveAt: iso(effective),
      })
    ).body;
    const balance = async (asOf: number, knownAt?: number) => {
      const q = `asOf=${iso(asOf)}${knownAt === undefined ? '' : `&knownAt=${iso(knownAt)}`}`;
      const b = await get(`/v1/accounts/${cash.id}/balance?${q}`);
      return [b.posted, b.version];
    };
    expect(await balance(effective - 1)).toEqual(['0', 0]);
    expect(await balance(effective)).toEqual(['30', 1]);
    expect(await balance(Date.parse(x.createdAt) - 1)).toEqual(['30', 1]);
    expect(await balance(Date.parse(x.createdAt))).toEqual(['130', 2]);
    expect(await balance(Date.now())).toEqual(['130', 2]);
    // Known just before y was recorded: the books then showed x alone, and nothing at y's date.
    const before = Date.parse(y.createdAt) - 1;
    expect(await balance(Date.now(), before)).toEqual(['100', 1]);
    expect(await balance(effective, before)).toEqual(['0', 0]);
    expect(await balance(Date.now(), Date.parse(y.createdAt))).toEqual(['130', 2]);
    expect(await balance(Date.now(), Date.parse(x.createdAt) - 1)).toEqual(['0', 0]);
    const answer = await get(`/v1/accounts/${cash.id}/balance?asOf=${iso(effective)}&knownAt=${y.createdAt}`);
    expect(answer).toMatchObject({ asOf: iso(effective), knownAt: y.createdAt, debitsPosted: '30', posted: '30' });
  });

  it('gives statements, the trial balance and reports by effective date, as a replay sorted by effectiveAt does', async () => {
    const { ledger, cash, sales } = await books('replay');
    const now = Date.now();
    const dates = [null, now - 2 * DAY, null, now - 5 * HOUR, now - 2 * DAY - 1, null, now - 26 * HOUR];
    for (const [i, d] of dates.entries()) {
      const body = { debitAccountId: cash.id, creditAccountId: sales.id, amount: String(10 + i) };
      const res = await transfer(t, op, d === null ? body : { ...body, effectiveAt: iso(d) });
      expect(res.status).toBe(201);
    }
    const entries = (await entriesOf(cash.id)).sort((a, b) => Date.parse(a.effectiveAt) - Date.parse(b.effectiveAt));
    const sum = (pred: (e: any) => boolean) => entries.filter(pred).reduce((s, e) => s + BigInt(e.amount), 0n);
    const instants = [
      now - 3 * DAY,
      now - 2 * DAY - 1,
      now - 2 * DAY,
      now - 26 * HOUR,
      now - 5 * HOUR,
      Date.now(),
      ...entries.map((e) => Date.parse(e.createdAt)),
    ];
    for (const from of instants) {
      for (const to of instants.filter((i) => i >= from)) {
        const st = await get(`/v1/accounts/${cash.id}/statement?from=${iso(from)}&to=${iso(to)}`);
        const inside = entries.filter((e) => Date.parse(e.effectiveAt) >= from && Date.parse(e.effectiveAt) < to);
        expect(st).toMatchObject({
          openingBalance: sum((e) => Date.parse(e.effectiveAt) < from).toString(),
          closingBalance: sum((e) => Date.parse(e.effectiveAt) < to).toString(),
          totalDebits: sum((e) => inside.includes(e)).toString(),
          entryCount: inside.length,
        });
      }
      const tb = await get(`/v1/audit/trial-balance?asOf=${iso(from)}&ledgerId=${ledger.id}`);
      const total = sum((e) => Date.parse(e.effectiveAt) <= from).toString();
      // An account appears once it exists, or earlier if something dated then counts on it.
      const listed = total !== '0' || from >= Date.parse(cash.createdAt);
      expect(tb.currencies).toEqual(
        listed ? [expect.objectContaining({ totalDebits: total, totalCredits: total })] : [],
      );
      const sheet = await get(`/v1/reports/balance-sheet?ledgerId=${ledger.id}&asOf=${iso(from)}`);
      expect(sheet).toMatchObject({ assets: { total }, retainedEarnings: total, balanced: true });
    }
  });

  it('refuses a date in the future or not a timestamp (400), writing nothing', async () => {
    const { cash, sales } = await books('future');
    for (const effectiveAt of [iso(Date.now() + 60_000), '2026-13-01T00:00:00Z', 'yesterday', 17]) {
      const res = await transfer(t, op, {
        debitAccountId: cash.id,
        creditAccountId: sales.id,
        amount: '1',
        effectiveAt,
      });
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.errors.map((e: any) => e.field)).toEqual(['effectiveAt']);
    }
    expect(await entriesOf(cash.id)).toEqual([]);
  });

  it('refuses every movement dated before closedUntil with PERIOD_CLOSED (422), on every path, writing nothing', async () => {
    const { ledger, cash, sales } = await books('closed');
    const base = { debitAccountId: cash.id, creditAccountId: sales.id };
    const until = Date.now() - HOUR;
    const posted = (await transfer(t, op, { ...base, amount: '50' })).body;
    const tx = (
      await t.request('POST', '/v1/transactions', {
        token: op,
        body: {
          postings: [
            { accountId: cash.id, direction: 'debit', amount: '7', currency: 'USD' },
            { accountId: sales.id, direction: 'credit', amount: '7', currency: 'USD' },
          ],
        },
      })
    ).body;
    // Dated in what is about to be closed, posted only after the close.
    const pending = (await transfer(t, op, { ...base, amount: '9', pending: true, effectiveAt: iso(until - 1) })).body;
    expect(pending.status).toBe('pending');
    expect(
      (await t.request('POST', `/v1/ledgers/${ledger.id}/close`, { token: admin, body: { until: iso(until) } })).status,
    ).toBe(200);
    const snapshot = async () => [
      await entriesOf(cash.id),
      await entriesOf(sales.id),
      await get(`/v1/accounts/${cash.id}`),
    ];
    const before = await snapshot();

    const refusals: [string, Promise<any>][] = [
      ['transfer', transfer(t, op, { ...base, amount: '1', effectiveAt: iso(until - 1) })],
      [
        'batch',
        t.request('POST', '/v1/transfers/batch', {
          token: op,
          body: {
            transfers: [
              { ...base, amount: '1', currency: 'USD' },
              { ...base, amount: '2', currency: 'USD', effectiveAt: iso(until - DAY) },
            ],
          },
        }),
      ],
      [
        'transaction',
        t.request('POST', '/v1/transactions', {
          token: op,
          body: {
            effectiveAt: iso(until - 1),
            postings: [
              { accountId: cash.id, direction: 'debit', amount: '3', currency: 'USD' },
              { accountId: sales.id, direction: 'credit', amount: '3', currency: 'USD' },
            ],
          },
        }),
      ],
      [
        'transfer reversal',
        t.request('POST', `/v1/transfers/${posted.id}/reverse`, { token: op, body: { effectiveAt: iso(until - 1) } }),
      ],
      [
        'transaction reversal',
        t.request('POST', `/v1/transactions/${tx.id}/reverse`, { token: op, body: { effectiveAt: iso(until - 1) } }),
      ],
      ['post of a pending one dated before', t.request('POST', `/v1/transfers/${pending.id}/post`, { token: op })],
    ];
    for (const [path, sent] of refusals) {
      const res = await sent;
      expect({ path, status: res.status, code: res.body.code, index: res.body.index }).toEqual({
        path,
        status: 422,
        code: 'PERIOD_CLOSED',
        index: path === 'batch' ? 1 : undefined,
      });
    }
    const dry = await t.request('POST', '/v1/transfers?dryRun=true', {
      token: op,
      body: { ...base, amount: '1', currency: 'USD', effectiveAt: iso(until - 1) },
    });
    expect([dry.status, dry.body.code]).toEqual([422, 'PERIOD_CLOSED']);
    expect(await snapshot()).toEqual(before);

    // At the instant itself, undated, or voiding (which writes no entry): through.
    expect((await transfer(t, op, { ...base, amount: '4', effectiveAt: iso(until) })).status).toBe(201);
    expect((await transfer(t, op, { ...base, amount: '5' })).status).toBe(201);
    expect((await t.request('POST', `/v1/transfers/${pending.id}/void`, { token: op })).status).toBe(200);
    expect((await t.request('POST', `/v1/transfers/${posted.id}/reverse`, { token: op, body: {} })).status).toBe(201);
  });

  it('is held by the database: no entry dated before closedUntil, no close undone, no effective date changed', async () => {
    const { ledger, cash, sales } = await books('db');
    const moved = (await transfer(t, op, { debitAccountId: cash.id, creditAccountId: sales.id, amount: '8' })).body;
    const until = new Date(Date.now() - HOUR);
    await t.request('POST', `/v1/ledgers/${ledger.id}/close`, { token: admin, body: { until: until.toISOString() } });
    const db = await connect(t.databaseUrl);
    try {
      const insert = (effectiveAt: Date | null, createdAt = new Date()) =>
        db.query(
          `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version,
             balance_after, debits_after, credits_after, created_at, effective_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, 'USD', 'debit', 1, 99, 0, 0, 0, $5, $6, 'x', 'y')`,
          [randomUUID(), ledger.id, moved.id, cash.id, createdAt, effectiveAt],
        );
      await expect(insert(new Date(until.getTime() - 1))).rejects.toThrow(/PERIOD_CLOSED/);
      await expect(insert(null, new Date(until.getTime() - 1))).rejects.toThrow(/PERIOD_CLOSED/);
      await expect(insert(new Date(Date.now() + 60_000))).rejects.toThrow(/ledger_entries_effective_at_check/);
      for (const value of [null, new Date(until.getTime() - 1)]) {
        await expect(
          db.query(`UPDATE ledgers SET closed_until = $2 WHERE id = $1`, [ledger.id, value]),
        ).rejects.toThrow(/a close is never undone/);
      }
      await expect(
        db.query(`UPDATE transfers SET effective_at = now() - interval '1 day' WHERE id = $1`, [moved.id]),
      ).rejects.toThrow(/never changes/);
    } finally {
      await db.end();
    }
  });

  it('never commits an entry dated before closedUntil after the close, with the close racing backdated writes', async () => {
    const { ledger, cash, sales } = await books('race');
    const until = Date.now() - 2000;
    const writes: Promise<any>[] = [];
    let close: Promise<any> | undefined;
    for (let i = 0; i < 80; i++) {
      // Half dated before the instant closed, half after; alternating single transfers and transactions.
      const effectiveAt = iso(until + (i % 2 === 0 ? -1 - i : i));
      writes.push(
        i % 4 < 2
          ? transfer(t, op, { debitAccountId: cash.id, creditAccountId: sales.id, amount: '1', effectiveAt })
          : t.request('POST', '/v1/transactions', {
              token: op,
              body: {
                effectiveAt,
                postings: [
                  { accountId: cash.id, direction: 'debit', amount: '1', currency: 'USD' },
                  { accountId: sales.id, direction: 'credit', amount: '1', currency: 'USD' },
                ],
              },
            }),
      );
      if (i === 30) {
        close = t.request('POST', `/v1/ledgers/${ledger.id}/close`, { token: admin, body: { until: iso(until) } });
      }
      // Sent over some 200 ms, so that some arrive while the close is in flight and some after it.
      await sleep(2);
    }
    const answers = await Promise.all(writes);
    expect((await close!).status).toBe(200);
    const outcomes = answers.map((r) => `${r.status} ${r.body.code ?? ''}`.trim());
    expect(outcomes.filter((o) => o !== '201' && o !== '422 PERIOD_CLOSED')).toEqual([]);
    const db = await connect(t.databaseUrl);
    try {
      const [closed] = (await db.query(`SELECT closed_until FROM ledgers WHERE id = $1`, [ledger.id])).rows;
      expect(closed.closed_until.toISOString()).toBe(iso(until));
      // Compared in PostgreSQL, in microseconds (JavaScript dates keep milliseconds). An entry written in the
      // close's own transaction, before it, shares its commit.
      const { rows } = await db.query(
        `SELECT count(*) FILTER (WHERE pg_xact_commit_timestamp(e.xmin)
             > (SELECT pg_xact_commit_timestamp(l.xmin) FROM ledgers l WHERE l.id = $1))::int AS after_close,
           count(*)::int AS dated_before
         FROM ledger_entries e WHERE e.ledger_id = $1 AND coalesce(e.effective_at, e.created_at) < $2`,
        [ledger.id, new Date(until)],
      );
      // Everything dated before the close committed before it; the refusals are what arrived after it.
      expect(rows[0].after_close).toBe(0);
      const refused = outcomes.filter((o) => o !== '201').length;
      expect(refused).toBeGreaterThan(0);
      expect(rows[0].dated_before).toBe(2 * (40 - refused));
    } finally {
      await db.end();
    }
  });

  it('answers every balance, statement and known-at query over random dated and undated movements as a model does', async () => {
    const { cash } = await books('model');
    let opened = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            amount: fc.integer({ min: 1, max: 1000 }),
            back: fc.option(fc.integer({ min: 0, max: 3 * DAY })),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 }), fc.option(fc.nat())), {
          minLength: 1,
          maxLength: 8,
        }),
        async (movements, queries) => {
          // Each run on a fresh pair of accounts of one ledger: the model starts empty.
          const ledgerId = cash.ledgerId;
          const pair = await Promise.all(
            ['asset', 'liability'].map(
              async (type) =>
                (
                  await t.request('POST', '/v1/accounts', {
                    token: op,
                    body: { ledgerId, currency: 'USD', type, allowNegative: true, name: `m${opened++}` },
                  })
                ).body,
            ),
          );
          const [a, b] = pair;
          const model: { effective: number; recorded: number; amount: bigint }[] = [];
          for (const m of movements) {
            const body: Record<string, unknown> = {
              debitAccountId: a.id,
              creditAccountId: b.id,
              amount: String(m.amount),
            };
            if (m.back !== null) body.effectiveAt = iso(Date.now() - m.back);
            const res = await transfer(t, op, body);
            expect(res.status).toBe(201);
            model.push({
              effective: Date.parse(res.body.effectiveAt),
              recorded: Date.parse(res.body.createdAt),
              amount: BigInt(m.amount),
            });
          }
          const instants = model.flatMap((m) => [m.effective, m.recorded]).sort((x, y) => x - y);
          const pick = (n: number, shift: number) => instants[n % instants.length]! + shift;
          for (const [n, shift, known] of queries) {
            const asOf = pick(n, shift);
            const knownAt = known === null ? undefined : pick(known, shift);
            const counted = model.filter(
              (m) => m.effective <= asOf && (knownAt === undefined || m.recorded <= knownAt),
            );
            const q = `asOf=${iso(asOf)}${knownAt === undefined ? '' : `&knownAt=${iso(knownAt)}`}`;
            const got = await get(`/v1/accounts/${a.id}/balance?${q}`);
            expect({ q, posted: got.posted, version: got.version }).toEqual({
              q,
              posted: counted.reduce((s, m) => s + m.amount, 0n).toString(),
              version: counted.length,
            });
            const to = knownAt ?? asOf;
            const [from, until] = asOf <= to ? [asOf, to] : [to, asOf];
            const st = await get(`/v1/accounts/${b.id}/statement?from=${iso(from)}&to=${iso(until)}`);
            const inside = model.filter((m) => m.effective >= from && m.effective < until);
            expect(st).toMatchObject({
              openingBalance: model
                .filter((m) => m.effective < from)
                .reduce((s, m) => s + m.amount, 0n)
                .toString(),
              totalCredits: inside.reduce((s, m) => s + m.amount, 0n).toString(),
              entryCount: inside.length,
            });
          }
        },
      ),
      { numRuns: 12, seed: 20261205 },
    );
  });

  it('keeps balances exact over backdated entries recorded on many days (day totals against a brute-force sum)', async () => {
    const { ledger, cash, sales } = await books('days');
    const moved = (await transfer(t, op, { debitAccountId: cash.id, creditAccountId: sales.id, amount: '1' })).body;
    const db = await connect(t.databaseUrl);
    const base = Date.parse('2026-06-01T00:00:00.000Z');
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              recorded: fc.integer({ min: 0, max: 20 * DAY }),
              back: fc.option(fc.integer({ min: 1, max: 6 * DAY }), { freq: 2 }),
              debit: fc.boolean(),
              amount: fc.integer({ min: 1, max: 1000 }),
            }),
            { minLength: 1, maxLength: 40 },
          ),
          fc.array(
            fc.tuple(
              fc.integer({ min: -8 * DAY, max: 22 * DAY }),
              fc.option(fc.integer({ min: -8 * DAY, max: 22 * DAY })),
            ),
            {
              minLength: 1,
              maxLength: 10,
            },
          ),
          async (journal, queries) => {
            // A fresh account per run, its entries written straight into the journal in recorded order.
            const account = (
              await t.request('POST', '/v1/accounts', {
                token: op,
                body: { ledgerId: ledger.id, currency: 'USD', normalBalance: 'debit', name: `days-${run++}` },
              })
            ).body;
            const rows = journal
              .map((j) => ({ ...j, createdAt: base + j.recorded }))
              .sort((x, y) => x.createdAt - y.createdAt)
              .map((j) => ({ ...j, effectiveAt: j.back === null ? null : j.createdAt - j.back }));
            let [d, c] = [0n, 0n];
            for (const [i, r] of rows.entries()) {
              if (r.debit) d += BigInt(r.amount);
              else c += BigInt(r.amount);
              await db.query(
                `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount,
                   account_version, balance_after, debits_after, credits_after, created_at, effective_at, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, 'USD', $5, $6, $7, $8, $9, $10, $11, $12, 'x', 'y')`,
                [
                  randomUUID(),
                  ledger.id,
                  moved.id,
                  account.id,
                  r.debit ? 'debit' : 'credit',
                  r.amount,
                  i + 1,
                  (d - c).toString(),
                  d.toString(),
                  c.toString(),
                  new Date(r.createdAt),
                  r.effectiveAt === null ? null : new Date(r.effectiveAt),
                ],
              );
            }
            // Also at the exact instants and day boundaries, where off-by-one errors live.
            const exact = rows.flatMap((r) => [r.createdAt, r.effectiveAt ?? r.createdAt]);
            const all = [...queries, ...exact.slice(0, 4).map((x) => [x - base, x - base + 1] as [number, number])];
            for (const [asOfOffset, knownOffset] of all) {
              const asOf = base + asOfOffset;
              const knownAt = knownOffset === null ? undefined : base + knownOffset;
              const counted = rows.filter(
                (r) => (r.effectiveAt ?? r.createdAt) <= asOf && (knownAt === undefined || r.createdAt <= knownAt),
              );
              const q = `asOf=${iso(asOf)}${knownAt === undefined ? '' : `&knownAt=${iso(knownAt)}`}`;
              const got = await get(`/v1/accounts/${account.id}/balance?${q}`);
              const sum = (debit: boolean) =>
                counted
                  .filter((r) => r.debit === debit)
                  .reduce((s, r) => s + BigInt(r.amount), 0n)
                  .toString();
              expect({ q, d: got.debitsPosted, c: got.creditsPosted, n: got.version }).toEqual({
                q,
                d: sum(true),
                c: sum(false),
                n: counted.length,
              });
            }
          },
        ),
        { numRuns: 30, seed: 20261204 },
      );
    } finally {
      await db.end();
    }
  });
});
