import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { createAccount, fundingSource, transfer } from './support/ledger.js';

/** The export's fields, in the documented order: the CSV header and the keys of every NDJSON object. */
const FIELDS = [
  'id',
  'seq',
  'transferId',
  'accountId',
  'currency',
  'direction',
  'amount',
  'accountVersion',
  'balanceAfter',
  'createdAt',
  'prevHash',
  'hash',
  'ledgerId',
  'effectiveAt',
];
const HEADER = `${FIELDS.join(',')}\n`;
const ENTRIES = 100_000;
const MB = 1024 * 1024;
/**
 * Bounds on the process's growth over the baseline while 100,000 entries (29 MB of CSV, 44 MB of NDJSON) stream through
 * it, with a clear margin over what was measured (logged by each test): heapUsed peaked 26 to 31 MB over the baseline,
 * garbage between two collections included; the live heap (right after a full collection) 1.4 to 1.9 MB, flat from
 * the first checkpoint to the last; rss 0 to 8 MB. Holding the body or its rows would take 29 to 100+ MB of live heap.
 */
const MAX_HEAP_GROWTH_MB = 48;
const MAX_LIVE_HEAP_GROWTH_MB = 16;
const MAX_LIVE_HEAP_DRIFT_MB = 8;
const MAX_RSS_GROWTH_MB = 64;

/**
 * The journal in SQL, formatted here (not by the service's code): bigints as text, instants as ISO 8601 UTC, the
 * effective date the recorded one unless the entry has its own.
 */
const JOURNAL_SELECT = `SELECT id::text, seq::text, transfer_id::text, account_id::text, currency, direction, amount::text,
  account_version::text, balance_after::text,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), prev_hash, hash, ledger_id::text,
  to_char(coalesce(effective_at, created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM ledger_entries`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csvLine = (values: string[]) => `${values.map(quote).join(',')}\n`;

/**
 * A full garbage collection on demand (V8's own flag, set at run time), so that heapUsed shows what is retained rather
 * than when V8 last got round to collecting: without it the heap is a sawtooth of uncollected garbage.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface MemoryFigures {
  samples: number;
  collections: number;
  collectionMs: number;
  baselineHeapMB: number;
  baselineRssMB: number;
  /** peak heapUsed over the baseline, garbage included */
  heapGrowthMB: number;
  /** peak heapUsed over the baseline right after a full collection: what the stream actually retains */
  liveHeapGrowthMB: number;
  rssGrowthMB: number;
  /** the live heap growth at each checkpoint, every CHECKPOINT_BYTES of body, to show it does not trend upwards */
  liveHeapGrowthAtCheckpointsMB: number[];
}

/** How often (in bytes of body received) the reader stops for a full collection and a live heap sample. */
const CHECKPOINT_BYTES = 5 * MB;

/**
 * Samples process.memoryUsage() every 20 ms while the application (in this very process) streams. The reader also
 * calls checkpoint() every CHECKPOINT_BYTES: a full collection (slow: the Jest worker's heap is large), then a sample
 * of what is really retained. The collections also keep the raw heapUsed from drifting with uncollected garbage.
 */
function memorySampler() {
  collectGarbage();
  const base = process.memoryUsage();
  const mb = (n: number) => Math.round((n / MB) * 10) / 10;
  const heap: number[] = [];
  const live: number[] = [];
  let maxRss = base.rss;
  let collectionMs = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heap.push(m.heapUsed);
    maxRss = Math.max(maxRss, m.rss);
    return m;
  };
  const timer = setInterval(sample, 20);
  return {
    checkpoint(): void {
      sample();
      const started = Date.now();
      collectGarbage();
      collectionMs += Date.now() - started;
      live.push(sample().heapUsed);
    },
    stop(): MemoryFigures {
      clearInterval(timer);
      sample();
      return {
        samples: heap.length,
        collections: live.length,
        collectionMs,
        baselineHeapMB: mb(base.heapUsed),
        baselineRssMB: mb(base.rss),
        heapGrowthMB: mb(Math.max(...heap) - base.heapUsed),
        liveHeapGrowthMB: mb(Math.max(...live) - base.heapUsed),
        rssGrowthMB: mb(maxRss - base.rss),
        liveHeapGrowthAtCheckpointsMB: live.map((n) => mb(n - base.heapUsed)),
      };
    },
  };
}

/** Small (far below the size of the body) and flat (no upward trend from the first quarter of the stream to the last). */
function expectFlat(m: MemoryFigures): void {
  expect(m.samples).toBeGreaterThanOrEqual(20);
  expect(m.collections).toBeGreaterThanOrEqual(4);
  expect(m.heapGrowthMB).toBeLessThan(MAX_HEAP_GROWTH_MB);
  expect(m.liveHeapGrowthMB).toBeLessThan(MAX_LIVE_HEAP_GROWTH_MB);
  const [first, ...rest] = m.liveHeapGrowthAtCheckpointsMB;
  expect(Math.max(...rest) - first!).toBeLessThan(MAX_LIVE_HEAP_DRIFT_MB);
  expect(m.rssGrowthMB).toBeLessThan(MAX_RSS_GROWTH_MB);
}

describe('ledger export (issue #6)', () => {
  let t: TestApp;
  let base: string;
  let op: string;
  let auditor: string;
  let admin: string;
  let db: Awaited<ReturnType<typeof connect>>;
  let accounts: string[];

  const get = (path: string, token: string | undefined, signal?: AbortSignal) =>
    fetch(`${base}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal,
    });

  /** The whole export through a byte stream: counts lines and hashes the bytes, never holding the body. */
  async function streamCsv(path: string, checkpoint?: () => void) {
    const res = await get(path, auditor);
    expect(res.status).toBe(200);
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    let last = -1;
    let head = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      chunks++;
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!head.includes('\n')) head += buf.subarray(0, 512).toString('utf8');
      hash.update(buf);
      if (
        checkpoint !== undefined &&
        Math.floor((bytes + buf.length) / CHECKPOINT_BYTES) > Math.floor(bytes / CHECKPOINT_BYTES)
      )
        checkpoint();
      bytes += buf.length;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
      if (buf.length > 0) last = buf[buf.length - 1]!;
    }
    const firstLine = head.slice(0, head.indexOf('\n') + 1);
    return { res, sha256: hash.digest('hex'), bytes, lines, chunks, firstLine, endsWithNewline: last === 10 };
  }

  /** Reads the journal straight from the database in seq order, a slice at a time (ORDER BY the column: the output `seq` is text). */
  async function forEachJournalRow(where: string, params: unknown[], each: (row: string[]) => void): Promise<void> {
    let after = '0';
    for (;;) {
      const { rows } = await db.query<string[]>({
        text: `${JOURNAL_SELECT} WHERE seq > $1::bigint ${where === '' ? '' : `AND ${where}`} ORDER BY ledger_entries.seq LIMIT 10000`,
        values: [after, ...params],
        rowMode: 'array',
      });
      if (rows.length === 0) return;
      for (const row of rows) each(row);
      after = rows[rows.length - 1]![1]!;
    }
  }

  const asObject = (row: string[]): Record<string, unknown> =>
    Object.fromEntries(FIELDS.map((f, i) => [f, f === 'accountVersion' ? Number(row[i]) : row[i]]));

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op, auditor, admin } = await tokensByRole(t));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    db = await connect(t.databaseUrl);
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  describe('100,000 entries', () => {
    let expectedCsv: string;
    let expectedRows: string;
    let first: string[];
    let last: string[];

    beforeAll(async () => {
      const started = Date.now();
      accounts = [];
      for (let i = 0; i < 4; i++) accounts.push((await createAccount(t, op)).id as string);
      const transfers = [randomUUID(), randomUUID()];
      for (const [i, id] of transfers.entries()) {
        await db.query(
          `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount, created_at, posted_at)
           VALUES ($1, '00000000-0000-4000-8000-000000000001', $2, $3, 1, 'USD', 'posted', 1, '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')`,
          [id, accounts[2 * i], accounts[2 * i + 1]],
        );
      }
      // Straight into the journal (the hash chain is not the point here): varied millisecond timestamps from 2020,
      // negative balances and amounts above 2^53, which must come out digit for digit.
      await db.query(
        `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version,
           balance_after, debits_after, credits_after, created_at, prev_hash, hash)
         SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001', ($1::uuid[])[1 + g % 2], ($2::uuid[])[1 + g % 4], 'USD',
           CASE WHEN g % 2 = 0 THEN 'debit' ELSE 'credit' END,
           CASE WHEN g % 9973 = 0 THEN 9007199254740993 ELSE 1 + (g * 7919) % 1000000 END,
           g / 4 + 1, (g * 31) % 2000001 - 1000000, g * 3, g * 5,
           timestamptz '2020-01-01T00:00:00Z' + g * interval '1 second' + (g % 1000) * interval '1 millisecond',
           encode(sha256(convert_to('prev' || g, 'UTF8')), 'hex'), encode(sha256(convert_to('hash' || g, 'UTF8')), 'hex')
         FROM generate_series(0, $3::int - 1) AS g ORDER BY g`,
        [transfers, accounts, ENTRIES],
      );
      const seeded = Date.now();
      const csv = createHash('sha256').update(HEADER);
      const rows = createHash('sha256');
      let n = 0;
      await forEachJournalRow('', [], (row) => {
        const line = csvLine(row);
        csv.update(line);
        rows.update(line);
        if (n === 0) first = row;
        last = row;
        n++;
      });
      expect(n).toBe(ENTRIES);
      expectedCsv = csv.digest('hex');
      expectedRows = rows.digest('hex');
      console.log(
        `export suite: seeded ${ENTRIES} entries in ${seeded - started} ms, expected digest in ${Date.now() - seeded} ms`,
      );
    });

    it('streams all of them as CSV in flat memory, byte for byte what the journal holds', async () => {
      const started = Date.now();
      const memory = memorySampler();
      const out = await streamCsv('/v1/ledger/export?format=csv', () => memory.checkpoint());
      const figures = memory.stop();
      const ms = Date.now() - started;
      console.log(
        `export csv: ${out.lines} lines, ${(out.bytes / MB).toFixed(1)} MB in ${out.chunks} chunks, ${ms} ms; memory ${JSON.stringify(figures)}`,
      );
      expect(out.res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(out.firstLine).toBe(HEADER);
      expect(out.lines).toBe(ENTRIES + 1);
      expect(out.endsWithNewline).toBe(true);
      expect(out.sha256).toBe(expectedCsv);
      expect(out.bytes).toBeGreaterThan(20 * MB);
      expect(out.chunks).toBeGreaterThan(10); // streamed, not sent as one buffer
      expectFlat(figures);
    });

    it('streams all of them as NDJSON: one object per line with the entry fields, equal to the journal', async () => {
      const started = Date.now();
      const memory = memorySampler();
      const res = await get('/v1/ledger/export?format=ndjson', auditor);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      const decoder = new StringDecoder('utf8');
      const asCsv = createHash('sha256');
      let pending = '';
      let bytes = 0;
      let lines = 0;
      let bad: { line: number; text: string } | undefined;
      let firstObj: unknown;
      let lastObj: unknown;
      const take = (text: string) => {
        lines++;
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(text) as Record<string, unknown>;
        } catch {
          bad ??= { line: lines, text };
          return;
        }
        const keys = Object.keys(obj).sort();
        const typed =
          typeof obj.accountVersion === 'number' &&
          FIELDS.every((f) => f === 'accountVersion' || typeof obj[f] === 'string');
        if (keys.join() !== [...FIELDS].sort().join() || !typed) bad ??= { line: lines, text };
        asCsv.update(csvLine(FIELDS.map((f) => String(obj[f]))));
        if (lines === 1) firstObj = obj;
        lastObj = obj;
      };
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        if (Math.floor((bytes + chunk.byteLength) / CHECKPOINT_BYTES) > Math.floor(bytes / CHECKPOINT_BYTES))
          memory.checkpoint();
        bytes += chunk.byteLength;
        pending += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        let nl: number;
        while ((nl = pending.indexOf('\n')) !== -1) {
          take(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
      pending += decoder.end();
      const figures = memory.stop();
      console.log(
        `export ndjson: ${lines} lines, ${(bytes / MB).toFixed(1)} MB in ${Date.now() - started} ms; memory ${JSON.stringify(figures)}`,
      );
      expect(pending).toBe(''); // every line, the last one included, ends with a newline
      expect(bad).toBeUndefined();
      expect(lines).toBe(ENTRIES);
      expect(firstObj).toEqual(asObject(first));
      expect(lastObj).toEqual(asObject(last));
      expect(asCsv.digest('hex')).toBe(expectedRows);
      expect(bytes).toBeGreaterThan(20 * MB);
      expectFlat(figures);
    });

    it('does not leak a connection when clients disconnect mid-stream', async () => {
      const pool = (t.app.get(DataSource).driver as unknown as { master: Pool }).master;
      const checkedOut = () => pool.totalCount - pool.idleCount;
      expect(pool.options.max).toBe(10);
      // More abandoned exports than the pool has connections (DB_POOL_SIZE=10): one leak each would exhaust it.
      for (let i = 0; i < 12; i++) {
        const aborter = new AbortController();
        const res = await get(`/v1/ledger/export?format=${i % 2 === 0 ? 'csv' : 'ndjson'}`, auditor, aborter.signal);
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        // Half leave after the first chunk, half after a couple of megabytes: both are far from the end (> 20 MB).
        let received = 0;
        do {
          const { value, done } = await reader.read();
          expect(done).toBe(false);
          received += value?.byteLength ?? 0;
        } while (i % 2 === 1 && received < 2 * MB);
        aborter.abort();
        await reader.cancel().catch(() => undefined);
      }
      // The server notices each disconnect, rolls back the export's transaction and returns its connection.
      const deadline = Date.now() + 5000;
      let open: { pool: number; inTransaction: number; cursors: number };
      for (;;) {
        const { rows } = await db.query<{ tx: number; cursors: number }>(
          `SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS tx,
                  count(*) FILTER (WHERE query LIKE '%export_cursor%' AND state <> 'idle')::int AS cursors
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        open = { pool: checkedOut(), inTransaction: rows[0]!.tx, cursors: rows[0]!.cursors };
        if ((open.pool === 0 && open.inTransaction === 0 && open.cursors === 0) || Date.now() > deadline) break;
        await sleep(50);
      }
      expect(open).toEqual({ pool: 0, inTransaction: 0, cursors: 0 });

      // And the export keeps working, more times in a row than the pool has connections.
      const filter = `accountId=${accounts[0]}&to=2020-01-01T00:10:00.000Z`;
      const expected = createHash('sha256').update(HEADER);
      let expectedLines = 1;
      await forEachJournalRow(
        `account_id = $2 AND created_at < $3`,
        [accounts[0], '2020-01-01T00:10:00.000Z'],
        (row) => {
          expected.update(csvLine(row));
          expectedLines++;
        },
      );
      const digest = expected.digest('hex');
      expect(expectedLines).toBeGreaterThan(100);
      for (let i = 0; i < 15; i++) {
        const out = await streamCsv(`/v1/ledger/export?format=csv&${filter}`);
        expect({ lines: out.lines, sha256: out.sha256 }).toEqual({ lines: expectedLines, sha256: digest });
      }
      // Writes share the pool: they still get a connection.
      const created = await fetch(`${base}/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json' },
        body: JSON.stringify({ currency: 'USD', normalBalance: 'credit' }),
      });
      expect(created.status).toBe(201);
      expect(((await created.json()) as { currency: string }).currency).toBe('USD');
    });
  });

  describe('filters and protocol', () => {
    let source: string;
    let a: string;
    let b: string;
    let t1: string;
    let t2: string;

    beforeAll(async () => {
      // A small EUR dataset, written through the API after the bulk USD journal of 2020.
      const eur = await fundingSource(t, op, 'EUR');
      source = eur.source.id;
      a = (await createAccount(t, op, { currency: 'EUR' })).id;
      b = (await createAccount(t, op, { currency: 'EUR' })).id;
      await eur.fund(a, '100');
      await sleep(20);
      t1 = new Date().toISOString();
      await sleep(20);
      await eur.fund(b, '200');
      const moved = await transfer(t, op, { debitAccountId: a, creditAccountId: b, amount: '30', currency: 'EUR' });
      expect(moved.status).toBe(201);
      await sleep(20);
      t2 = new Date().toISOString();
      await sleep(20);
      await eur.fund(a, '5');
    });

    /** An export small enough to read whole, as CSV (parsed into objects) and as NDJSON. */
    async function exported(query: string) {
      const csv = await t.request('GET', `/v1/ledger/export?format=csv&${query}`, { token: auditor });
      const ndjson = await t.request('GET', `/v1/ledger/export?format=ndjson&${query}`, { token: auditor });
      expect([csv.status, ndjson.status]).toEqual([200, 200]);
      expect(csv.text.startsWith(HEADER)).toBe(true);
      expect(csv.text.endsWith('\n')).toBe(true);
      const fromCsv = csv.text
        .slice(HEADER.length)
        .split('\n')
        .slice(0, -1)
        .map((line) => asObject(line.split(',')));
      const fromNdjson =
        ndjson.text === ''
          ? []
          : ndjson.text
              .replace(/\n$/, '')
              .split('\n')
              .map((l) => JSON.parse(l));
      expect(fromNdjson).toEqual(fromCsv);
      return fromCsv as any[];
    }

    /** The same selection made straight in SQL. */
    async function journal(where: string, params: unknown[]) {
      const rows: Record<string, unknown>[] = [];
      await forEachJournalRow(where, params, (row) => rows.push(asObject(row)));
      return rows;
    }

    it('filters by currency', async () => {
      const rows = await exported('currency=EUR');
      expect(rows.map((r) => [r.currency, r.amount])).toEqual([
        ['EUR', '100'],
        ['EUR', '100'],
        ['EUR', '200'],
        ['EUR', '200'],
        ['EUR', '30'],
        ['EUR', '30'],
        ['EUR', '5'],
        ['EUR', '5'],
      ]);
      expect(rows).toEqual(await journal(`currency = $2`, ['EUR']));
      expect(await exported('currency=GBP')).toEqual([]);
    });

    it('filters by account, and agrees with the paged journal API', async () => {
      const rows = await exported(`accountId=${a}`);
      expect(rows.map((r) => [r.accountId, r.direction, r.amount, r.accountVersion])).toEqual([
        [a, 'credit', '100', 1],
        [a, 'debit', '30', 2],
        [a, 'credit', '5', 3],
      ]);
      const page = await t.request('GET', `/v1/ledger/entries?accountId=${a}`, { token: auditor });
      expect(rows).toEqual(page.body.data);
      expect(await exported(`accountId=${randomUUID()}`)).toEqual([]);
    });

    it('filters by time: from inclusive, to exclusive, alone or combined', async () => {
      const window = await exported(`from=${t1}&to=${t2}`);
      expect(window.map((r) => [r.accountId, r.amount])).toEqual([
        [source, '200'],
        [b, '200'],
        [a, '30'],
        [b, '30'],
      ]);
      expect(window).toEqual(await journal(`created_at >= $2 AND created_at < $3`, [t1, t2]));
      expect((await exported(`currency=EUR&to=${t1}`)).map((r) => r.amount)).toEqual(['100', '100']);
      expect((await exported(`currency=EUR&from=${t2}`)).map((r) => r.amount)).toEqual(['5', '5']);
      expect((await exported(`accountId=${a}&from=${t1}`)).map((r) => r.amount)).toEqual(['30', '5']);
      expect(await exported(`accountId=${b}&currency=EUR&from=${t1}&to=${t2}`)).toEqual(
        window.filter((r) => r.accountId === b),
      );
      // Boundaries: an entry created exactly at `from` is in, one created exactly at `to` is out.
      const at = window.find((r) => r.amount === '30').createdAt as string;
      expect((await exported(`accountId=${a}&from=${at}`)).map((r) => r.amount)).toEqual(['30', '5']);
      expect((await exported(`accountId=${a}&to=${at}`)).map((r) => r.amount)).toEqual(['100']);
      // Pre-2020 range over the whole journal: nothing.
      expect(await exported('to=2019-01-01T00:00:00.000Z')).toEqual([]);
    });

    it('answers with the format content type and an attachment name', async () => {
      const csv = await t.request('GET', `/v1/ledger/export?format=csv&accountId=${a}`, { token: auditor });
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.headers['content-disposition']).toBe('attachment; filename="ledger-entries.csv"');
      const ndjson = await t.request('GET', `/v1/ledger/export?format=ndjson&accountId=${a}`, { token: auditor });
      expect(ndjson.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      expect(ndjson.headers['content-disposition']).toBe('attachment; filename="ledger-entries.ndjson"');
    });

    it.each([
      ['format=xml'],
      [''],
      ['format='],
      ['format=CSV'],
      ['format=csv&accountId=not-a-uuid'],
      ['format=csv&currency=eur'],
      ['format=csv&from=yesterday'],
      ['format=ndjson&to=2026-13-01T00:00:00Z'],
      ['format=csv&limit=10'],
    ])('refuses %j with 400 as problem+json', async (query) => {
      const res = await t.request('GET', `/v1/ledger/export?${query}`, { token: auditor });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('is for auditors and admins only: 403 for an operator, 401 without or with a bad token', async () => {
      const path = `/v1/ledger/export?format=csv&accountId=${a}`;
      expect((await t.request('GET', path, { token: op })).status).toBe(403);
      expect((await t.request('GET', path)).status).toBe(401);
      expect((await t.request('GET', path, { token: `${auditor}x` })).status).toBe(401);
      expect((await t.request('GET', path, { token: admin })).status).toBe(200);
      // The same over real HTTP.
      for (const [token, status] of [
        [op, 403],
        [undefined, 401],
      ] as const) {
        const res = await get(`/v1/ledger/export?format=ndjson&accountId=${a}`, token);
        expect(res.status).toBe(status);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        await res.text();
      }
    });
  });
});
