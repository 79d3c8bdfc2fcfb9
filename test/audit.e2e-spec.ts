import { randomUUID } from 'node:crypto';
import { entryHash } from '../src/core/hash-chain.js';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect, serverUrl } from './support/database.js';
import { ledgerViolations } from './support/invariants.js';
import { createAccount, fundingSource, transfer } from './support/ledger.js';

const NO_TREES = { TREE_INTERVAL_MS: '600000' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('auditor API', () => {
  let t: TestApp;
  let op: string;
  let auditor: string;
  let funding: Awaited<ReturnType<typeof fundingSource>>;

  beforeAll(async () => {
    // These tests delete entries and put them back behind the service; a tree built in between would (rightly)
    // name the entry a missing leaf for good. The trees have their own suite (checkpoints.e2e-spec.ts).
    t = await startTestApp(NO_TREES);
    ({ operator: op, auditor } = await tokensByRole(t));
    funding = await fundingSource(t, op);
  });
  afterAll(() => t.close());

  async function verify() {
    const res = await t.request('GET', '/v1/audit/verify', { token: auditor });
    expect(res.status).toBe(200);
    return res.body;
  }

  describe('verify', () => {
    let alice: any;
    let bob: any;

    beforeAll(async () => {
      alice = await createAccount(t, op);
      bob = await createAccount(t, op);
      await funding.fund(alice.id, '1000');
      await transfer(t, op, { debitAccountId: alice.id, creditAccountId: bob.id, amount: '100' });
      await transfer(t, op, { debitAccountId: alice.id, creditAccountId: bob.id, amount: '250' });
      const pending = await transfer(t, op, {
        debitAccountId: alice.id,
        creditAccountId: bob.id,
        amount: '50',
        pending: true,
      });
      await t.request('POST', `/v1/transfers/${pending.body.id}/post`, { token: op, body: { amount: '30' } });
    });

    it('finds an untouched ledger sound', async () => {
      const v = await verify();
      expect(v).toMatchObject({ ok: true, problems: [] });
      expect(v.checkedAccounts).toBeGreaterThanOrEqual(3);
      expect(v.checkedEntries).toBe(8);
      expect(v.checkedTransfers).toBe(4);
    });

    /** Tampers as the database superuser with triggers off, runs verify, then puts things back. */
    async function tampered(tamper: string[], restore: string[]): Promise<any> {
      const db = await connect(t.databaseUrl);
      try {
        await db.query(`SET session_replication_role = replica`);
        for (const sql of tamper) await db.query(sql);
        const result = await verify();
        for (const sql of restore) await db.query(sql);
        return result;
      } finally {
        await db.end();
      }
    }

    it('names a changed entry amount as HASH_MISMATCH and BALANCE_MISMATCH at that account and version', async () => {
      const v = await tampered(
        [`UPDATE ledger_entries SET amount = 101 WHERE account_id = '${bob.id}' AND account_version = 1`],
        [`UPDATE ledger_entries SET amount = 100 WHERE account_id = '${bob.id}' AND account_version = 1`],
      );
      expect(v.ok).toBe(false);
      expect(v.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'HASH_MISMATCH', accountId: bob.id, accountVersion: 1 }),
          expect.objectContaining({ code: 'BALANCE_MISMATCH', accountId: bob.id }),
          expect.objectContaining({ code: 'UNBALANCED_TRANSFER' }),
          expect.objectContaining({ code: 'UNBALANCED_CURRENCY' }),
        ]),
      );
      expect(v.problems.filter((p: any) => p.code === 'HASH_MISMATCH')).toHaveLength(1);
      expect((await verify()).ok).toBe(true);
    });

    it('names a deleted entry as VERSION_GAP at the missing version', async () => {
      const db = await connect(t.databaseUrl);
      const { rows } = await db.query(`SELECT * FROM ledger_entries WHERE account_id = $1 AND account_version = 2`, [
        bob.id,
      ]);
      await db.end();
      const row = rows[0];
      const cols = Object.keys(row);
      const v = await tampered(
        [`DELETE FROM ledger_entries WHERE account_id = '${bob.id}' AND account_version = 2`],
        [
          `INSERT INTO ledger_entries (${cols.join(',')}) SELECT * FROM json_populate_record(null::ledger_entries, '${JSON.stringify(
            { ...row, created_at: row.created_at.toISOString() },
          )}')`,
        ],
      );
      expect(v.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'VERSION_GAP', accountId: bob.id, accountVersion: 2 }),
          expect.objectContaining({ code: 'BALANCE_MISMATCH', accountId: bob.id }),
        ]),
      );
      expect((await verify()).ok).toBe(true);
    });

    it('names two swapped amounts as HASH_MISMATCH at both versions', async () => {
      const swap = (a: number, b: number) => [
        `UPDATE ledger_entries SET amount = ${a} WHERE account_id = '${bob.id}' AND account_version = 1`,
        `UPDATE ledger_entries SET amount = ${b} WHERE account_id = '${bob.id}' AND account_version = 2`,
      ];
      const v = await tampered(swap(250, 100), swap(100, 250));
      const hashes = v.problems.filter((p: any) => p.code === 'HASH_MISMATCH' && p.accountId === bob.id);
      expect(hashes.map((p: any) => p.accountVersion).sort()).toEqual([1, 2]);
      expect((await verify()).ok).toBe(true);
    });

    it('names a changed account counter as BALANCE_MISMATCH for that account', async () => {
      const v = await tampered(
        [`UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = '${bob.id}'`],
        [`UPDATE accounts SET credits_posted = credits_posted - 5 WHERE id = '${bob.id}'`],
      );
      expect(v.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'BALANCE_MISMATCH', accountId: bob.id }),
          expect.objectContaining({ code: 'UNBALANCED_CURRENCY' }),
        ]),
      );
      expect(v.problems.some((p: any) => p.code === 'HASH_MISMATCH')).toBe(false);
      expect((await verify()).ok).toBe(true);
    });

    describe('with more than 100 problems', () => {
      // Problems used to be listed in account order, 100 at most: one account's many problems hid every account
      // after it. `early` sorts before `late` by id, so that is the order that hid `late`.
      let early: any;
      let late: any;

      beforeAll(async () => {
        [early, late] = [await createAccount(t, op), await createAccount(t, op)].sort((x, y) => (x.id < y.id ? -1 : 1));
        for (let i = 0; i < 2; i++) {
          const res = await t.request('POST', '/v1/transfers/batch', {
            token: op,
            body: {
              transfers: Array.from({ length: 60 }, () => ({
                debitAccountId: funding.source.id,
                creditAccountId: early.id,
                amount: '1',
                currency: 'USD',
              })),
            },
          });
          expect(res.status).toBe(201);
        }
        await funding.fund(late.id, '5');
      });

      /** Every affected account in the list is named once before any account is named a second time. */
      function expectEachNamedBeforeAnyTwice(problems: any[]): void {
        const named: string[] = problems.flatMap((p) => (p.accountId === undefined ? [] : [p.accountId]));
        const firstRepeat = named.findIndex((id, i) => named.indexOf(id) < i);
        if (firstRepeat < 0) return;
        expect(named.slice(firstRepeat).filter((id) => named.indexOf(id) >= firstRepeat)).toEqual([]);
      }

      it("still names another account's changed amount when an entry deleted early leaves 118 later entries out of place", async () => {
        const db = await connect(t.databaseUrl);
        const { rows } = await db.query(`SELECT * FROM ledger_entries WHERE account_id = $1 AND account_version = 2`, [
          early.id,
        ]);
        await db.end();
        const row = rows[0];
        const v = await tampered(
          [
            `DELETE FROM ledger_entries WHERE account_id = '${early.id}' AND account_version = 2`,
            `UPDATE ledger_entries SET amount = 6 WHERE account_id = '${late.id}' AND account_version = 1`,
          ],
          [
            `INSERT INTO ledger_entries (${Object.keys(row).join(',')}) SELECT * FROM json_populate_record(null::ledger_entries, '${JSON.stringify(
              { ...row, created_at: row.created_at.toISOString() },
            )}')`,
            `UPDATE ledger_entries SET amount = 5 WHERE account_id = '${late.id}' AND account_version = 1`,
          ],
        );
        expect(v.ok).toBe(false);
        expect(v.problems.length).toBeLessThanOrEqual(100);
        expect(v.problems).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ code: 'VERSION_GAP', accountId: early.id, accountVersion: 2 }),
            expect.objectContaining({ code: 'HASH_MISMATCH', accountId: late.id, accountVersion: 1 }),
          ]),
        );
        expectEachNamedBeforeAnyTwice(v.problems);
        expect((await verify()).ok).toBe(true);
      });

      it('names the first problem of each account before a second of any, and still names transfers and currencies', async () => {
        // Every one of early's 120 entries altered: 120 hash mismatches of one account, more than the list holds.
        const v = await tampered(
          [
            `UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = '${early.id}'`,
            `UPDATE ledger_entries SET amount = 6 WHERE account_id = '${late.id}' AND account_version = 1`,
          ],
          [
            `UPDATE ledger_entries SET amount = amount - 1 WHERE account_id = '${early.id}'`,
            `UPDATE ledger_entries SET amount = 5 WHERE account_id = '${late.id}' AND account_version = 1`,
          ],
        );
        expect(v.problems).toHaveLength(100);
        expect(v.problems).toEqual(
          expect.arrayContaining([expect.objectContaining({ code: 'HASH_MISMATCH', accountId: late.id })]),
        );
        expectEachNamedBeforeAnyTwice(v.problems);
        // The first problem named for an account is the altered entry itself, at its version.
        expect(v.problems.slice(0, 2)).toEqual([
          expect.objectContaining({ code: 'HASH_MISMATCH', accountId: early.id, accountVersion: 1 }),
          expect.objectContaining({ code: 'HASH_MISMATCH', accountId: late.id, accountVersion: 1 }),
        ]);
        expect(v.problems).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ code: 'UNBALANCED_CURRENCY' }),
            expect.objectContaining({ code: 'UNBALANCED_TRANSFER' }),
          ]),
        );
        expect((await verify()).ok).toBe(true);
      });
    });

    it('refuses operators (separation of duties) and answers admins', async () => {
      expect((await t.request('GET', '/v1/audit/verify', { token: op })).status).toBe(403);
    });
  });

  describe('point in time', () => {
    it('answers balance-as-of and statements that agree with a replay of the entries', async () => {
      const acct = await createAccount(t, op, { normalBalance: 'credit' });
      const other = await createAccount(t, op);
      const instants: string[] = [new Date().toISOString()];
      for (const [amount, out] of [
        ['500', false],
        ['120', true],
        ['80', false],
        ['45', true],
      ] as const) {
        await sleep(15);
        if (out) await transfer(t, op, { debitAccountId: acct.id, creditAccountId: other.id, amount });
        else await funding.fund(acct.id, amount);
        await sleep(15);
        instants.push(new Date().toISOString());
      }
      const entries = (await t.request('GET', `/v1/accounts/${acct.id}/entries?limit=500`, { token: auditor })).body
        .data;
      expect(entries).toHaveLength(4);
      const replay = (pred: (e: any) => boolean) => {
        let d = 0n;
        let c = 0n;
        let n = 0;
        for (const e of entries.filter(pred)) {
          if (e.direction === 'debit') d += BigInt(e.amount);
          else c += BigInt(e.amount);
          n++;
        }
        return { d, c, n, posted: c - d };
      };
      for (const asOf of instants) {
        const res = await t.request('GET', `/v1/accounts/${acct.id}/balance?asOf=${asOf}`, { token: auditor });
        expect(res.status).toBe(200);
        const r = replay((e) => e.createdAt <= asOf);
        expect(res.body).toEqual({
          accountId: acct.id,
          currency: 'USD',
          asOf,
          knownAt: expect.any(String),
          debitsPosted: r.d.toString(),
          creditsPosted: r.c.toString(),
          posted: r.posted.toString(),
          version: r.n,
        });
      }
      const [from, to] = [instants[1]!, instants[3]!];
      const st = await t.request('GET', `/v1/accounts/${acct.id}/statement?from=${from}&to=${to}`, { token: auditor });
      const opening = replay((e) => e.createdAt < from);
      const closing = replay((e) => e.createdAt < to);
      const inside = replay((e) => e.createdAt >= from && e.createdAt < to);
      expect(st.body).toEqual({
        accountId: acct.id,
        currency: 'USD',
        from,
        to,
        openingBalance: opening.posted.toString(),
        closingBalance: closing.posted.toString(),
        totalDebits: inside.d.toString(),
        totalCredits: inside.c.toString(),
        entryCount: inside.n,
      });
      expect(inside.n).toBe(2);
      expect(
        (await t.request('GET', `/v1/accounts/${acct.id}/statement?from=${to}&to=${from}`, { token: auditor })).status,
      ).toBe(400);
      expect((await t.request('GET', `/v1/accounts/${acct.id}/balance?asOf=tomorrow`, { token: auditor })).status).toBe(
        400,
      );
    });

    it('gives a trial balance per currency, balanced, now and as of an earlier instant', async () => {
      const before = new Date().toISOString();
      await sleep(10);
      const eurSource = await fundingSource(t, op, 'EUR');
      const eur = await createAccount(t, op, { currency: 'EUR' });
      await eurSource.fund(eur.id, '77');
      const now = await t.request('GET', '/v1/audit/trial-balance', { token: auditor });
      expect(now.status).toBe(200);
      const eurNow = now.body.currencies.find((c: any) => c.currency === 'EUR');
      expect(eurNow).toEqual({
        ledgerId: '00000000-0000-4000-8000-000000000001',
        currency: 'EUR',
        totalDebits: '77',
        totalCredits: '77',
        balanced: true,
        accountCount: 2,
        byType: [{ type: 'unclassified', totalDebits: '77', totalCredits: '77', accountCount: 2 }],
      });
      expect(now.body.currencies.every((c: any) => c.balanced)).toBe(true);
      const then = await t.request('GET', `/v1/audit/trial-balance?asOf=${before}`, { token: auditor });
      expect(then.body.asOf).toBe(before);
      expect(then.body.currencies.find((c: any) => c.currency === 'EUR')).toBeUndefined();
    });
  });

  describe('journal', () => {
    it('lists entries in seq order with filters', async () => {
      const a = await createAccount(t, op);
      await funding.fund(a.id, '9');
      const tr = await funding.fund(a.id, '8');
      void tr;
      const res = await t.request('GET', `/v1/ledger/entries?accountId=${a.id}`, { token: auditor });
      expect(res.status).toBe(200);
      expect(res.body.data.map((e: any) => e.amount)).toEqual(['9', '8']);
      const byTransfer = await t.request('GET', `/v1/ledger/entries?transferId=${res.body.data[0].transferId}`, {
        token: auditor,
      });
      expect(byTransfer.body.data.map((e: any) => e.direction).sort()).toEqual(['credit', 'debit']);
      expect((await t.request('GET', '/v1/ledger/entries?cursor=abc', { token: auditor })).status).toBe(400);
      expect((await t.request('GET', '/v1/ledger/entries?currency=usd', { token: auditor })).status).toBe(400);
    });

    it('lets an auditor tailing the journal under 8 concurrent writers on two instances see every entry exactly once', async () => {
      // Each writer moves money between its own two accounts, so writers run truly in parallel.
      const accounts = await Promise.all(Array.from({ length: 16 }, () => createAccount(t, op)));
      for (const a of accounts) await funding.fund(a.id, '100000');
      const db = await connect(t.databaseUrl);
      const start = (await db.query(`SELECT coalesce(max(seq), 0)::text AS s FROM ledger_entries`)).rows[0].s as string;
      // Some writers are slow between taking their seq and committing (a trigger sleeps after their insert),
      // which is exactly when a reader paging by seq alone would pass their entries and never see them.
      await db.query(`CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$`);
      await db.query(`CREATE TRIGGER test_slow_commit AFTER INSERT ON ledger_entries FOR EACH ROW
        WHEN (NEW.amount = 7) EXECUTE FUNCTION test_slow_commit()`);
      // Two instances on one database, as replicas run: each commits its own groups independently.
      const second = await startTestApp(NO_TREES, t.databaseUrl);
      let writing = true;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        const via = w % 2 === 0 ? t : second;
        for (let i = 0; i < 30; i++) {
          const from = accounts[2 * w + (i % 2)]!;
          const to = accounts[2 * w + 1 - (i % 2)]!;
          const res = await transfer(via, op, {
            debitAccountId: from.id,
            creditAccountId: to.id,
            amount: String(1 + ((i + w) % 7)),
          });
          expect(res.status).toBe(201);
        }
      });
      const seen: string[] = [];
      let cursor = start;
      const reader = (async () => {
        for (;;) {
          const stillWriting = writing;
          const page = await t.request('GET', `/v1/ledger/entries?limit=17&cursor=${cursor}`, { token: auditor });
          expect(page.status).toBe(200);
          for (const e of page.body.data) seen.push(e.seq);
          if (page.body.data.length > 0) cursor = page.body.data[page.body.data.length - 1].seq;
          if (!stillWriting && page.body.nextCursor === null) break;
        }
      })();
      await Promise.all(writers);
      writing = false;
      await reader;
      await second.close();
      await db.query('DROP TRIGGER test_slow_commit ON ledger_entries');
      await db.query('DROP FUNCTION test_slow_commit()');
      const all = (
        await db.query(`SELECT seq::text AS s FROM ledger_entries WHERE seq > $1 ORDER BY ledger_entries.seq`, [start])
      ).rows.map((r) => r.s);
      await db.end();
      expect(all.length).toBeGreaterThanOrEqual(400);
      expect(seen).toEqual(all);
    });

    it('holds back entries above a writer still in flight, and hands them out once it commits', async () => {
      // A writer outside the service's writer lock (another deployment, a migration script) takes its seq values,
      // then commits slowly; meanwhile the service commits later seq values. Paging by seq alone would skip it.
      const x = await createAccount(t, op, { normalBalance: 'debit', allowNegative: true });
      const y = await createAccount(t, op);
      const z = await createAccount(t, op);
      const db = await connect(t.databaseUrl);
      const start = (await db.query(`SELECT coalesce(max(seq), 0)::text AS s FROM ledger_entries`)).rows[0].s as string;
      const transferId = randomUUID();
      const createdAt = new Date().toISOString();
      const head = '0'.repeat(64);
      const fields = (accountId: string, direction: 'debit' | 'credit', balanceAfter: bigint) => ({
        accountId,
        accountVersion: 1,
        transferId,
        direction,
        amount: 5n,
        currency: 'USD',
        balanceAfter,
        createdAt,
      });
      const debit = fields(x.id, 'debit', 5n);
      const credit = fields(y.id, 'credit', 5n);
      await db.query('BEGIN');
      await db.query(`SELECT 1 FROM accounts WHERE id = ANY($1::uuid[]) FOR UPDATE`, [[x.id, y.id]]);
      await db.query(
        `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount, created_at, posted_at)
         VALUES ($1, '00000000-0000-4000-8000-000000000001', $2, $3, 5, 'USD', 'posted', 5, $4, $4)`,
        [transferId, x.id, y.id, createdAt],
      );
      await db.query(
        `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version, balance_after,
           debits_after, credits_after, created_at, prev_hash, hash)
         VALUES ($1, '00000000-0000-4000-8000-000000000001', $2, $3, 'USD', 'debit', 5, 1, 5, 5, 0, $4, $5, $6),
                ($7, '00000000-0000-4000-8000-000000000001', $2, $8, 'USD', 'credit', 5, 1, 5, 0, 5, $4, $5, $9)`,
        [
          randomUUID(),
          transferId,
          x.id,
          createdAt,
          head,
          entryHash(head, debit),
          randomUUID(),
          y.id,
          entryHash(head, credit),
        ],
      );
      await funding.fund(z.id, '3'); // commits two later seq values through the service
      const reading = t.request('GET', `/v1/ledger/entries?cursor=${start}`, { token: auditor });
      await sleep(300);
      await db.query(`UPDATE accounts SET debits_posted = 5, version = 1, last_hash = $2 WHERE id = $1`, [
        x.id,
        entryHash(head, debit),
      ]);
      await db.query(`UPDATE accounts SET credits_posted = 5, version = 1, last_hash = $2 WHERE id = $1`, [
        y.id,
        entryHash(head, credit),
      ]);
      await db.query('COMMIT');
      const page = await reading;
      await db.end();
      expect(page.status).toBe(200);
      expect(page.body.data.map((e: any) => [e.accountId, e.amount])).toEqual([
        [x.id, '5'],
        [y.id, '5'],
        [funding.source.id, '3'],
        [z.id, '3'],
      ]);
    });

    it('is not held back by a transaction of another database on the same server', async () => {
      // Sequences belong to one database: a long transaction elsewhere (another service, a report) cannot hold
      // one of this journal's seq values. A snapshot's in-progress list names every database's transactions.
      const elsewhere = await connect(serverUrl('postgres'));
      await elsewhere.query('BEGIN');
      await elsewhere.query('SELECT pg_current_xact_id()');
      try {
        const a = await createAccount(t, op);
        await funding.fund(a.id, '4'); // commits after the other transaction took its id
        const startedAt = Date.now();
        const res = await t.request('GET', `/v1/ledger/entries?accountId=${a.id}`, { token: auditor });
        expect(res.status).toBe(200);
        expect(res.body.data.map((e: any) => e.amount)).toEqual(['4']);
        expect(Date.now() - startedAt).toBeLessThan(2000);
      } finally {
        await elsewhere.query('ROLLBACK');
        await elsewhere.end();
      }
    });
  });

  afterAll(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });

  it('checks every transaction against its entries: a posting changed behind the service is UNBALANCED_TRANSACTION', async () => {
    const a = await createAccount(t, op);
    const b = await createAccount(t, op);
    const c = await createAccount(t, op);
    await funding.fund(a.id, '100');
    const posting = (accountId: string, direction: string, amount: string) => ({
      accountId,
      direction,
      amount,
      currency: 'USD',
    });
    const tx = await t.request('POST', '/v1/transactions', {
      token: op,
      body: { postings: [posting(a.id, 'debit', '100'), posting(b.id, 'credit', '60'), posting(c.id, 'credit', '40')] },
    });
    expect(tx.status).toBe(201);
    const sound = await verify();
    expect(sound).toMatchObject({ ok: true, problems: [] });
    expect(sound.checkedTransactions).toBeGreaterThanOrEqual(1);
    const db = await connect(t.databaseUrl);
    try {
      await db.query(`SET session_replication_role = replica`);
      const swap = (from: string, to: string) =>
        db.query(
          `UPDATE transactions SET postings = jsonb_set(postings, '{1,amount}', to_jsonb($2::text)) WHERE id = $1
             AND postings -> 1 ->> 'amount' = $3`,
          [tx.body.id, to, from],
        );
      await swap('60', '61');
      const v = await verify();
      await swap('61', '60');
      expect(v.ok).toBe(false);
      expect(v.problems).toEqual([
        { code: 'UNBALANCED_TRANSACTION', transactionId: tx.body.id, detail: '3 entries do not match its 3 postings' },
      ]);
    } finally {
      await db.end();
    }
    expect((await verify()).ok).toBe(true);
  });
});
