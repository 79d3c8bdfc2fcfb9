/**
 * SPEC 14's proof latency at scale: a ledger of PROOF_BENCH_ENTRIES (default 1,000,000) entries, its tree built
 * by the service's own tree builder from a cold start (as on first start over an old journal), then inclusion
 * proofs (by entry id and by leaf index) and consistency proofs for random sizes, each through the whole HTTP
 * stack in-process (routing, auth, validation, the database). The entries are synthetic (inserted with triggers
 * off): the proofs read the tree and one entry, never the journal.
 *
 *   npx nest build && npx tsc -p bench/tsconfig.json && node dist/bench/proofs.js
 */
import pg from 'pg';
import { inProcess, runBench, say } from './in-process.js';

const N = Number(process.env.PROOF_BENCH_ENTRIES ?? 1_000_000);
const SAMPLES = Number(process.env.PROOF_BENCH_SAMPLES ?? 200);

async function main(): Promise<void> {
  await inProcess('proofs', async ({ url, call, token }) => {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const started = Date.now();
    await db.query(`SET session_replication_role = replica`);
    await db.query(
      `INSERT INTO ledger_entries (id, ledger_id, transfer_id, account_id, currency, direction, amount, account_version,
         balance_after, debits_after, credits_after, created_at, prev_hash, hash)
       SELECT gen_random_uuid(), (SELECT id FROM ledgers WHERE name = 'default'), gen_random_uuid(), gen_random_uuid(),
         'USD', 'debit', 1, 1, 1, 1, 0, now(), repeat('0', 64), encode(sha256(int8send(i)), 'hex')
       FROM generate_series(1, $1::bigint) AS i`,
      [N],
    );
    await db.query(`ANALYZE`);
    say(`${N} entries inserted in ${Date.now() - started} ms`);

    const building = Date.now();
    const cp = await call('POST', '/v1/audit/checkpoints', token, {});
    const buildMs = Date.now() - building;
    say(`tree of ${String(cp.treeSize)} leaves built and signed in ${buildMs} ms`);
    await db.query(`ANALYZE`);
    const ids = (await db.query<{ id: string }>(`SELECT id FROM ledger_entries ORDER BY random() LIMIT $1`, [SAMPLES]))
      .rows;
    await db.end();

    const size = Number(cp.treeSize);
    const timed = async (urls: string[]): Promise<number[]> => {
      const ms: number[] = [];
      for (const url of urls) {
        const t0 = process.hrtime.bigint();
        await call('GET', url, token);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return ms.sort((a, b) => a - b);
    };
    const rnd = (n: number): number => Math.floor(Math.random() * n);
    const results = {
      'inclusion by entryId': await timed(ids.map((r) => `/v1/audit/proofs/inclusion?entryId=${r.id}`)),
      'inclusion by leafIndex, random treeSize': await timed(
        ids.map(() => {
          const s = 1 + rnd(size);
          return `/v1/audit/proofs/inclusion?ledgerId=default&leafIndex=${rnd(s)}&treeSize=${s}`;
        }),
      ),
      'consistency, random sizes': await timed(
        ids.map(() => {
          const to = 1 + rnd(size);
          return `/v1/audit/proofs/consistency?ledgerId=default&from=${1 + rnd(to)}&to=${to}`;
        }),
      ),
    };
    const pct = (xs: number[], p: number): string => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!.toFixed(1);
    process.stdout.write(`proofs over a tree of ${size} leaves (${SAMPLES} each; ms p50 / p95 / max)\n`);
    for (const [name, xs] of Object.entries(results)) {
      process.stdout.write(`  ${name}: ${pct(xs, 0.5)} / ${pct(xs, 0.95)} / ${xs[xs.length - 1]!.toFixed(1)}\n`);
    }
    process.stdout.write(
      `  tree built from a cold start: ${buildMs} ms (${Math.round((size / buildMs) * 1000)} leaves/s)\n`,
    );
  });
}

runBench(main);
