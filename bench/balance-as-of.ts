/**
 * SPEC 12's historical balance at scale: one account with BALANCE_BENCH_ENTRIES (default 1,000,000) entries, one a
 * minute over about two years, a tenth of them backdated by up to 30 days, then `GET /v1/accounts/:id/balance?asOf=`
 * at random instants (and with `knownAt`), each through the whole HTTP stack in-process. The entries are written
 * straight into the journal with the database's triggers on, so the backdated day totals are kept as the write
 * path keeps them; a sample of answers is checked against a brute-force sum over the entries.
 *
 *   npx nest build && npx tsc -p bench/tsconfig.json && node dist/bench/balance-as-of.js
 */
import pg from 'pg';
import { inProcess, runBench, say } from './in-process.js';

const N = Number(process.env.BALANCE_BENCH_ENTRIES ?? 1_000_000);
const SAMPLES = Number(process.env.BALANCE_BENCH_SAMPLES ?? 200);
const CHUNK = 100_000;
const BASE = Date.parse('2025-01-01T00:00:00.000Z');
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

async function main(): Promise<void> {
  await inProcess('balance', async ({ url: databaseUrl, call, token }) => {
    const open = (normalBalance: string) =>
      call('POST', '/v1/accounts', token, { currency: 'USD', normalBalance, allowNegative: true });
    const [account, other] = [await open('debit'), await open('credit')];

    // Entry i is recorded at BASE + i minutes; every tenth is dated up to 30 days earlier. Amounts 1 … 1000,
    // debits and credits alternating; the running counters are the sums up to it, in recorded order.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    // The transfer every entry names (the journal's reference check wants one in the account's ledger).
    const moved = (
      await db.query<{ id: string }>(
        `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status,
           posted_amount, created_at, posted_at)
         SELECT gen_random_uuid(), ledger_id, $1, $2, 1, 'USD', 'posted', 1, now(), now() FROM accounts WHERE id = $1
         RETURNING id`,
        [account.id, other.id],
      )
    ).rows[0]!;
    const started = Date.now();
    for (let from = 1; from <= N; from += CHUNK) {
      const to = Math.min(N, from + CHUNK - 1);
      await db.query(
        `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version,
           balance_after, debits_after, credits_after, created_at, effective_at, prev_hash, hash)
         SELECT gen_random_uuid(), (SELECT ledger_id FROM accounts WHERE id = $3), $4, $3, 'USD',
           CASE WHEN i % 2 = 0 THEN 'debit' ELSE 'credit' END, 1 + i % 1000, i, 0,
           $5::bigint + sum(CASE WHEN i % 2 = 0 THEN 1 + i % 1000 ELSE 0 END) OVER w,
           $6::bigint + sum(CASE WHEN i % 2 = 1 THEN 1 + i % 1000 ELSE 0 END) OVER w,
           $7::timestamptz + i * interval '1 minute',
           CASE WHEN i % 10 = 0
             THEN $7::timestamptz + i * interval '1 minute' - ((i * 7919) % 2592000 + 1) * interval '1 second' END,
           repeat('0', 64), repeat('0', 64)
         FROM generate_series($1::bigint, $2::bigint) AS i WINDOW w AS (ORDER BY i)`,
        [from, to, account.id, moved.id, ...(await totalsBefore(db, account.id as string, from)), new Date(BASE)],
      );
      say(`${to} entries`);
    }
    await db.query(`ANALYZE`);
    const insertMs = Date.now() - started;
    const totals = (
      await db.query(`SELECT count(*)::int AS days FROM backdated_totals WHERE account_id = $1`, [account.id])
    ).rows[0] as { days: number };
    say(`${N} entries (${N / 10} backdated, ${totals.days} day-total rows) in ${insertMs} ms`);

    const rnd = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo));
    const span = N * MINUTE;
    const asOfs = Array.from({ length: SAMPLES }, () => rnd(BASE - 31 * DAY, BASE + span + DAY));
    const knowns = asOfs.map((a) => a + rnd(0, 60 * DAY));
    const timed = async (urls: string[]): Promise<{ ms: number[]; bodies: Record<string, unknown>[] }> => {
      const ms: number[] = [];
      const bodies: Record<string, unknown>[] = [];
      for (const url of urls) {
        const t0 = process.hrtime.bigint();
        bodies.push(await call('GET', url, token));
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return { ms, bodies };
    };
    const url = (asOf: number, knownAt?: number): string =>
      `/v1/accounts/${String(account.id)}/balance?asOf=${new Date(asOf).toISOString()}` +
      (knownAt === undefined ? '' : `&knownAt=${new Date(knownAt).toISOString()}`);
    const asOf = await timed(asOfs.map((a) => url(a)));
    const known = await timed(asOfs.map((a, i) => url(a, knowns[i])));

    // The answers, checked against the entries summed whole (which is also what a balance would cost without the
    // structure).
    let bruteMs = 0;
    for (let i = 0; i < 10; i++) {
      for (const [body, knownAt] of [
        [asOf.bodies[i]!, null],
        [known.bodies[i]!, new Date(knowns[i]!)],
      ] as const) {
        const t0 = Date.now();
        const { rows } = await db.query<{ d: string; c: string; n: string }>(
          `SELECT coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)::text AS d,
             coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)::text AS c, count(*)::text AS n
           FROM ledger_entries WHERE account_id = $1 AND coalesce(effective_at, created_at) <= $2
             AND ($3::timestamptz IS NULL OR created_at <= $3)`,
          [account.id, new Date(asOfs[i]!), knownAt],
        );
        bruteMs += Date.now() - t0;
        const want = rows[0]!;
        if (body.debitsPosted !== want.d || body.creditsPosted !== want.c || String(body.version) !== want.n) {
          throw new Error(`wrong balance at ${String(body.asOf)}: ${JSON.stringify(body)} vs ${JSON.stringify(want)}`);
        }
      }
    }
    await db.end();

    const pct = (xs: number[], p: number): string => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(s.length * p))]!.toFixed(1);
    };
    const line = (name: string, xs: number[]): string =>
      `  ${name}: ${pct(xs, 0.5)} / ${pct(xs, 0.95)} / ${Math.max(...xs).toFixed(1)}\n`;
    process.stdout.write(
      `balance of one account with ${N} entries, ${N / 10} backdated up to 30 days (${SAMPLES} each; ms p50 / p95 / max)\n`,
    );
    process.stdout.write(line('asOf', asOf.ms));
    process.stdout.write(line('asOf & knownAt (up to 60 days later)', known.ms));
    process.stdout.write(`  20 answers equal to a brute-force sum, which took ${(bruteMs / 20).toFixed(0)} ms each\n`);
    process.stdout.write(`  journal written in ${insertMs} ms with the triggers on; ${totals.days} day-total rows\n`);
  });
}

/** The account's running counters after the entries already written (the chunk's starting point). */
async function totalsBefore(db: pg.Client, accountId: string, from: number): Promise<[string, string]> {
  if (from === 1) return ['0', '0'];
  const { rows } = await db.query<{ d: string; c: string }>(
    `SELECT debits_after::text AS d, credits_after::text AS c FROM ledger_entries
     WHERE account_id = $1 ORDER BY account_version DESC LIMIT 1`,
    [accountId],
  );
  return [rows[0]!.d, rows[0]!.c];
}

runBench(main);
