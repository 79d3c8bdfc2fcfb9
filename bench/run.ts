/**
 * `npm run bench` (issue #8): starts the built service in production mode, creates and funds accounts, drives
 * transfers over keep-alive HTTP at several client counts, runs pgbench's TPC-B-like script on the same
 * PostgreSQL as the reference, and writes bench/results/<timestamp>.json and BENCHMARKS.md.
 *
 * Scenarios: `uniform` (single transfers between two random wallets of the `default` ledger), `hot` (every one
 * from the funding account to a random wallet), `batch` (100 uniform transfers per call) and `ledgers4` (uniform
 * spread over 4 ledgers: each request picks a random ledger, then two distinct random wallets of it, and is sent
 * by that ledger's own operator, limited to it, as a service per ledger would be). The 4
 * ledgers (`bench-<runId>-l0..l3`, made by the admin) and their accounts (a funding account and
 * BENCH_ACCOUNTS ÷ 4 wallets each, funded like the uniform wallets) are only created when ledgers4 is selected.
 * `webhook` comes last: uniform and batch again, and the open-loop uniform, with one webhook (`measureWithWebhook`).
 *
 * Environment: BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (5), BENCH_CLIENTS ("8,32,128"),
 * BENCH_SCENARIOS ("uniform,hot,batch,ledgers4,tx4,webhook": all of them), BENCH_ACCOUNTS (10000), BENCH_DB_POOL_SIZE (4),
 * BENCH_PGBENCH_SCALE (10), BENCH_KEEP_DATA (unset: the temporary cluster is deleted),
 * BENCH_SERVICE_NODE_ARGS (extra node flags for the service, e.g. --cpu-prof), DATABASE_URL (and optionally
 * JWT_SECRET) to use an existing server instead of an embedded one. BENCH_REPORT=<results file> measures nothing: it
 * judges the targets of a run already made again (after a target was added or changed) and rewrites that file and
 * BENCHMARKS.md from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Pool } from 'undici';
import { type Counters, counters, countersDelta, expect, login, openPool } from './api.js';
import { drive, type LoadResult, type Shot } from './load.js';
import { findPgbench, initialise, type PgbenchBinary, type Target, targetFor, tpcb } from './pgbench.js';
import { cpuOf, ioStallSeconds, machineCpu, memoryOf, postgresCpu, reapedChildrenCpu, resetPeak } from './proc.js';
import { explain, markdown } from './report.js';
import {
  type CpuShare,
  type PgbenchPoint,
  type Point,
  type Results,
  SCENARIOS,
  type Scenario,
  type TargetCheck,
  type WebhookPoint,
} from './results-model.js';
import { postmasterPid, type Service, startService } from './service.js';
import { startReceiver } from './webhook-receiver.js';
import { EVENT_TYPES } from '../src/events/event-rows.js';

const BATCH_SIZE = 100;
const CURRENCY = 'USD';
const PGBENCH_DATABASE = 'ledger_bench_pgbench';
const OPERATOR_PASSWORD = 'bench-operator-password';
/** The ledgers of the ledgers4 scenario. */
const LEDGER_COUNT = 4;
/** How long the webhook scenario waits after a point for the events it wrote to arrive. */
const WEBHOOK_WAIT_MS = 30_000;

interface Settings {
  seconds: number;
  warmupSeconds: number;
  clients: number[];
  scenarios: Scenario[];
  accounts: number;
  dbPoolSize: number;
  pgbenchScale: number;
  keepData: boolean;
}

function settings(): Settings {
  const int = (name: string, fallback: number, min: number): number => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
    return n;
  };
  const clients = (process.env.BENCH_CLIENTS || '8,32,128').split(',').map((s) => Number(s.trim()));
  if (clients.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    throw new Error(`BENCH_CLIENTS must be a comma-separated list of integers 1-1000`);
  }
  const scenarios = (process.env.BENCH_SCENARIOS || SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      throw new Error(`BENCH_SCENARIOS: unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`);
    }
  }
  return {
    seconds: int('BENCH_SECONDS', 20, 1),
    warmupSeconds: int('BENCH_WARMUP_SECONDS', 5, 0),
    clients,
    scenarios: scenarios as Scenario[],
    accounts: int('BENCH_ACCOUNTS', 10_000, 2),
    dbPoolSize: int('BENCH_DB_POOL_SIZE', 4, 1),
    pgbenchScale: int('BENCH_PGBENCH_SCALE', 10, 1),
    keepData: process.env.BENCH_KEEP_DATA !== undefined && process.env.BENCH_KEEP_DATA !== '',
  };
}

const say = (message: string): void => {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** Judges a run's targets, writes its results file and BENCHMARKS.md, and says which targets were met. */
async function publish(results: Results, file: string): Promise<void> {
  results.targets = targets(results);
  results.targets = explain(results);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  const previous = existsSync('BENCHMARKS.md') ? readFileSync('BENCHMARKS.md', 'utf8') : undefined;
  await writeFile('BENCHMARKS.md', markdown(results, file, previous));
  say(`results: ${file} and BENCHMARKS.md`);
  for (const t of results.targets) {
    say(`target ${t.met === null ? 'NOT MEASURED' : t.met ? 'MET    ' : 'NOT MET'}  ${t.name}: ${t.measured}`);
  }
}

async function main(): Promise<void> {
  const again = process.env.BENCH_REPORT;
  if (again !== undefined && again !== '') {
    return publish(JSON.parse(readFileSync(again, 'utf8')) as Results, again);
  }
  const s = settings();
  const startedAt = new Date();
  const runId = startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15);
  const loadAverageStart = loadavg();
  say(
    `${cpus().length} cores, load average ${loadAverageStart.map((l) => l.toFixed(2)).join(' ')}; ` +
      `${s.seconds} s per point after ${s.warmupSeconds} s warm-up; clients ${s.clients.join(', ')}; ` +
      `scenarios ${s.scenarios.join(', ')}`,
  );
  // Another build (`nest build` empties dist/ first) may be under way on a shared checkout: give it a minute.
  for (let i = 0; i < 120 && !existsSync('dist/src/main.js'); i++) await new Promise((r) => setTimeout(r, 500));
  if (!existsSync('dist/src/main.js')) throw new Error('dist/src/main.js is missing: run `npm run build` first');

  const service = await startService({ runId, poolSize: s.dbPoolSize, keepData: s.keepData, log: say });
  const rssAfterStartMb = memoryOf(service.pid)?.rssMb ?? NaN;
  say(
    `service pid ${service.pid} at ${service.url} (${service.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}), ` +
      `RSS ${rssAfterStartMb.toFixed(0)} MB`,
  );
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping the service');
    void service.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const db = new pg.Client({ connectionString: service.databaseUrl });
  const setupPool = openPool(service.url, 64);
  let pgbenchTarget: Target | undefined;
  try {
    await db.connect();
    const version = (await db.query<{ version: string }>('SELECT version()')).rows[0]!.version;
    const isolationDefault = await setting(db, 'default_transaction_isolation');
    const maxConnections = await setting(db, 'max_connections');
    const dataDirectory = await setting(db, 'data_directory').catch(() => '');
    const postmaster = dataDirectory === '' ? undefined : postmasterPid(dataDirectory);
    say(`${version}; default isolation ${isolationDefault}; postmaster pid ${postmaster ?? 'unknown (remote?)'}`);

    // pgbench: found, and its tables initialised, before the ledger's data exists (so it is not competing).
    const found = await findPgbench();
    let bin: PgbenchBinary | undefined;
    let pgbenchInfo: Results['pgbench'];
    if ('missing' in found) {
      say(`NOTE: ${found.missing}; the ratios to pgbench will not be measured`);
      pgbenchInfo = found;
    } else {
      bin = found;
      say(`pgbench: ${bin.path} (${bin.version}), found ${bin.foundIn}`);
      await db.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE}`);
      await db.query(`CREATE DATABASE ${PGBENCH_DATABASE}`);
      pgbenchTarget = targetFor(service.databaseUrl, PGBENCH_DATABASE);
      const t0 = performance.now();
      await initialise(bin, pgbenchTarget, s.pgbenchScale);
      const initSeconds = (performance.now() - t0) / 1000;
      say(`pgbench -i -s ${s.pgbenchScale}: ${initSeconds.toFixed(1)} s`);
      pgbenchInfo = { ...bin, scale: s.pgbenchScale, initSeconds, database: PGBENCH_DATABASE };
    }

    // Users and accounts.
    const adminToken = await login(setupPool, service.adminUsername, service.adminPassword);
    const operator = `bench-operator-${runId}`;
    await expect(setupPool, 201, 'POST', '/v1/users', {
      token: adminToken,
      key: `${runId}-user`,
      body: { username: operator, password: OPERATOR_PASSWORD, roles: ['operator'] },
    });
    const operatorToken = (): Promise<string> => login(setupPool, operator, OPERATOR_PASSWORD);
    let token = await operatorToken();

    const t1 = performance.now();
    const [funding] = await createAccounts(setupPool, token, runId, 'funding', 1, true);
    const wallets = await createAccounts(setupPool, token, runId, 'wallet', s.accounts, false);
    const createSeconds = (performance.now() - t1) / 1000;
    say(`${wallets.length + 1} accounts created in ${createSeconds.toFixed(1)} s`);
    const t2 = performance.now();
    await fund(setupPool, token, `${runId}-fund`, funding!, wallets);
    const fundSeconds = (performance.now() - t2) / 1000;
    say(`${wallets.length} accounts funded in ${fundSeconds.toFixed(1)} s`);

    // ledgers4: its ledgers and their accounts, only when it is measured (other runs stay as they were).
    const ledgerNames = new Map<string, string>();
    const ledgerWallets: string[][] = [];
    /** Each ledger's own operator, limited to it (as a service per ledger would be): logs in before each point. */
    const ledgerOperators: string[] = [];
    const ledgerTokens: string[] = [];
    const refreshLedgerTokens = async (): Promise<void> => {
      for (const [i, u] of ledgerOperators.entries()) ledgerTokens[i] = await login(setupPool, u, OPERATOR_PASSWORD);
    };
    let ledgers4Setup: Results['setup']['ledgers4'];
    if (s.scenarios.includes('ledgers4')) {
      const made = await createLedgers(setupPool, adminToken, runId);
      for (const l of made) {
        ledgerNames.set(l.id, l.name);
        const username = `${operator}-${l.name.slice(l.name.lastIndexOf('-') + 1)}`;
        await expect(setupPool, 201, 'POST', '/v1/users', {
          token: adminToken,
          key: `${runId}-user-${l.name}`,
          body: { username, password: OPERATOR_PASSWORD, roles: ['operator'], ledgers: [l.id] },
        });
        ledgerOperators.push(username);
      }
      const perLedger = Math.max(2, Math.floor(s.accounts / LEDGER_COUNT));
      const t3 = performance.now();
      const fundings: string[] = [];
      for (const l of made) {
        const [f] = await createAccounts(setupPool, token, runId, 'funding', 1, true, l);
        fundings.push(f!);
        ledgerWallets.push(await createAccounts(setupPool, token, runId, 'wallet', perLedger, false, l));
      }
      const createSeconds4 = (performance.now() - t3) / 1000;
      const t4 = performance.now();
      for (const [i, l] of made.entries()) {
        await fund(setupPool, token, `${runId}-${l.name}-fund`, fundings[i]!, ledgerWallets[i]!);
      }
      const fundSeconds4 = (performance.now() - t4) / 1000;
      ledgers4Setup = {
        ledgers: made.map((l) => l.name),
        accountsCreated: made.length * (perLedger + 1),
        createSeconds: createSeconds4,
        fundSeconds: fundSeconds4,
      };
      say(
        `ledgers4: ledgers ${ledgers4Setup.ledgers.join(', ')}; ${ledgers4Setup.accountsCreated} accounts ` +
          `(${perLedger} wallets and a funding account each) created in ${createSeconds4.toFixed(1)} s, ` +
          `funded in ${fundSeconds4.toFixed(1)} s`,
      );
    }
    const rssAfterSetupMb = memoryOf(service.pid)?.rssMb ?? NaN;
    say(`set-up done; service RSS ${rssAfterSetupMb.toFixed(0)} MB`);

    // The measured points.
    let peakRssMb = memoryOf(service.pid)?.hwmMb ?? NaN;
    const points: Point[] = [];
    const pgbenchPoints: PgbenchPoint[] = [];
    const meter = new Meter(service.pid, postmaster);
    const probe = new RoundTripProbe(db);
    const generators = shots(funding!, wallets, ledgerWallets, ledgerTokens);
    for (const clients of s.clients) {
      if (bin !== undefined && pgbenchTarget !== undefined) {
        const threads = Math.min(clients, cpus().length);
        if (s.warmupSeconds > 0) await tpcb(bin, pgbenchTarget, clients, threads, s.warmupSeconds);
        meter.start();
        probe.start();
        const r = await tpcb(bin, pgbenchTarget, clients, threads, s.seconds);
        const p: PgbenchPoint = { ...r, cpu: meter.stop('pgbench'), pgRoundTripMs: await probe.stop() };
        pgbenchPoints.push(p);
        say(
          `pgbench  c=${pad(clients, 3)} ${fmt(p.tps, 9)} tps  latency avg ${p.latencyAvgMs.toFixed(2)} ms  ` +
            `failed ${p.failedTransactions}  SELECT 1 ${p.pgRoundTripMs.p50.toFixed(2)} ms  ${cpuText(p.cpu)}`,
        );
      }
      for (const scenario of s.scenarios) {
        if (scenario === 'webhook') continue;
        token = await operatorToken();
        if (scenario === 'ledgers4') await refreshLedgerTokens();
        peakRssMb = Math.max(peakRssMb, memoryOf(service.pid)?.hwmMb ?? NaN);
        const point = await measure({
          service,
          meter,
          probe,
          token,
          scenario,
          clients,
          s,
          keyPrefix: `${runId}-${points.length}-${scenario}-${clients}`,
          next: generators[scenario],
          metricsPool: setupPool,
        });
        const reference = pgbenchPoints.find((p) => p.clients === clients);
        point.ratioToPgbench = reference === undefined ? null : point.transfersPerSecond / reference.tps;
        peakRssMb = Math.max(peakRssMb, point.peakRssMb);
        points.push(point);
        say(pointText(point));
      }
    }

    // p99 at 70 % of the uniform peak: an open-loop run at that rate.
    let paced: Point | null = null;
    const uniformPeak = best(points.filter((p) => p.scenario === 'uniform'));
    if (uniformPeak !== undefined) {
      token = await operatorToken();
      peakRssMb = Math.max(peakRssMb, memoryOf(service.pid)?.hwmMb ?? NaN);
      const rate = 0.7 * uniformPeak.transfersPerSecond;
      paced = await measure({
        service,
        meter,
        probe,
        token,
        scenario: 'uniform',
        clients: Math.max(32, uniformPeak.clients),
        s,
        keyPrefix: `${runId}-paced`,
        next: generators.uniform,
        metricsPool: setupPool,
        rate,
      });
      peakRssMb = Math.max(peakRssMb, paced.peakRssMb);
      say(pointText(paced));
    }
    let webhook: Results['webhook'];
    if (s.scenarios.includes('webhook')) {
      webhook = await measureWithWebhook({
        measured: points,
        paced,
        runId,
        db,
        pool: setupPool,
        adminToken: () => login(setupPool, service.adminUsername, service.adminPassword),
        measure: async (scenario, clients, keyPrefix, rate) => {
          const point = await measure({
            service,
            meter,
            probe,
            token: await operatorToken(),
            scenario,
            clients,
            s,
            keyPrefix: `${runId}-${keyPrefix}`,
            next: generators[scenario],
            metricsPool: setupPool,
            rate,
          });
          peakRssMb = Math.max(peakRssMb, point.peakRssMb);
          return point;
        },
      });
    }
    peakRssMb = Math.max(peakRssMb, memoryOf(service.pid)?.hwmMb ?? NaN);

    // The invariants after the load: debits equal credits per ledger and currency.
    const auditToken = await login(setupPool, service.adminUsername, service.adminPassword);
    const defaultLedger = await expect<{ id: string; name: string }>(setupPool, 200, 'GET', '/v1/ledgers/default', {
      token: auditToken,
    });
    ledgerNames.set(defaultLedger.id, defaultLedger.name);
    const trial = await expect<{
      currencies: { ledgerId: string; currency: string; balanced: boolean; totalDebits: string }[];
    }>(setupPool, 200, 'GET', '/v1/audit/trial-balance', { token: auditToken });
    const trialRows = trial.currencies.map((c) => ({
      ledger: ledgerNames.get(c.ledgerId) ?? c.ledgerId,
      currency: c.currency,
      balanced: c.balanced,
      totalDebits: c.totalDebits,
    }));
    const balanced = trialRows.every((c) => c.balanced);
    say(`trial balance after the run: ${balanced ? 'balanced' : 'NOT BALANCED'} (${JSON.stringify(trialRows)})`);

    const errorLines = service.logLines.filter((l) => /"level":\s*(50|60)\b/.test(l) || !l.startsWith('{'));
    const results: Results = {
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      commit: gitCommit(),
      machine: {
        cores: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        platform: `${platform()} ${release()}`,
        loadAverageStart,
        loadAverageEnd: loadavg(),
        otherCpuMedian: median([...points, ...pgbenchPoints].map((p) => p.cpu.other)),
        stealMedian: median([...points, ...pgbenchPoints].map((p) => p.cpu.steal)),
        ioStallMedian: median([...points, ...pgbenchPoints].map((p) => p.cpu.ioStall)),
      },
      postgres: {
        version,
        mode: service.embedded ? 'embedded' : 'DATABASE_URL',
        isolationDefault,
        maxConnections,
      },
      pgbench: pgbenchInfo,
      settings: {
        seconds: s.seconds,
        warmupSeconds: s.warmupSeconds,
        clients: s.clients,
        scenarios: s.scenarios,
        accounts: s.accounts,
        dbPoolSize: s.dbPoolSize,
        batchSize: BATCH_SIZE,
      },
      trialBalanceAfter: { balanced, currencies: trialRows },
      setup: {
        accountsCreated: wallets.length + 1,
        createSeconds,
        fundSeconds,
        rssAfterStartMb,
        rssAfterSetupMb,
        ...(ledgers4Setup === undefined ? {} : { ledgers4: ledgers4Setup }),
      },
      points,
      pgbenchPoints,
      paced,
      ...(webhook === undefined ? {} : { webhook }),
      peakRssMb,
      targets: [],
      serviceLog: {
        linesAtWarnOrAbove: service.logLines.length,
        errorLines: errorLines.length,
        sample: [...errorLines, ...service.logLines.filter((l) => !errorLines.includes(l))].slice(0, 50),
      },
    };
    await mkdir('bench/results', { recursive: true });
    await publish(results, join('bench/results', `${startedAt.toISOString().replace(/:/g, '-')}.json`));
    if (service.logLines.length > 0) {
      say(`the service logged ${service.logLines.length} lines at warn or above (${errorLines.length} errors):`);
      for (const line of results.serviceLog.sample.slice(0, 10)) process.stdout.write(`  ${line}\n`);
    }
  } finally {
    await setupPool.close().catch(() => {});
    if (pgbenchTarget !== undefined && !service.embedded) {
      await db.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE}`).catch(() => {});
    }
    await db.end().catch(() => {});
    if (!interrupted) await service.stop();
  }
}

async function setting(db: pg.Client, name: string): Promise<string> {
  return (await db.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]!.v;
}

interface Ledger {
  id: string;
  name: string;
}

/** The ledgers of the ledgers4 scenario, made by the admin: `bench-<runId>-l0` … (names are lowercase). */
async function createLedgers(pool: Pool, adminToken: string, runId: string): Promise<Ledger[]> {
  const ledgers: Ledger[] = [];
  for (let i = 0; i < LEDGER_COUNT; i++) {
    const name = `bench-${runId.toLowerCase()}-l${i}`;
    const body = await expect<Ledger>(pool, 201, 'POST', '/v1/ledgers', {
      token: adminToken,
      key: `${runId}-ledger-${i}`,
      body: { name, description: 'bench: the ledgers4 scenario' },
    });
    ledgers.push({ id: body.id, name: body.name });
  }
  return ledgers;
}

/** Accounts created in parallel, each request with its own Idempotency-Key; in `default` unless a ledger is given. */
async function createAccounts(
  pool: Pool,
  token: string,
  runId: string,
  kind: 'funding' | 'wallet',
  count: number,
  allowNegative: boolean,
  ledger?: Ledger,
): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  const label = ledger === undefined ? kind : `${ledger.name}-${kind}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const body = await expect<{ id: string }>(pool, 201, 'POST', '/v1/accounts', {
        token,
        key: `${runId}-${label}-${i}`,
        body: {
          ...(ledger === undefined ? {} : { ledgerId: ledger.id }),
          currency: CURRENCY,
          normalBalance: 'credit',
          allowNegative,
          name: `bench ${label.replace(/-/g, ' ')} ${i}`,
        },
      });
      ids[i] = body.id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, count) }, worker));
  return ids;
}

/** Every wallet gets 10,000,000.00 from the funding account, 100 transfers per batch. */
async function fund(pool: Pool, token: string, keyPrefix: string, funding: string, wallets: string[]): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < wallets.length; i += BATCH_SIZE) chunks.push(wallets.slice(i, i + BATCH_SIZE));
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < chunks.length; i = next++) {
      const transfers = chunks[i]!.map((w) => ({
        debitAccountId: funding,
        creditAccountId: w,
        amount: '1000000000',
        currency: CURRENCY,
        description: 'bench funding',
      }));
      const body = await expect<{ transfers: unknown[] }>(pool, 201, 'POST', '/v1/transfers/batch', {
        token,
        key: `${keyPrefix}-${i}`,
        body: { transfers },
      });
      if (body.transfers.length !== transfers.length) throw new Error('a funding batch came back short');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * The request generators of the scenarios: `wallets` are the default ledger's, `ledgerWallets` those of each of
 * the ledgers4 scenario's ledgers (empty when it is not measured).
 */
function shots(
  funding: string,
  wallets: string[],
  ledgerWallets: string[][],
  ledgerTokens: string[],
): Record<Exclude<Scenario, 'webhook'>, () => Shot> {
  const n = wallets.length;
  const pick = (): string => wallets[Math.floor(Math.random() * n)]!;
  const amount = (): string => String(1 + Math.floor(Math.random() * 100));
  /** Two distinct random accounts of `among`. */
  const pairIn = (
    among: string[],
  ): { debitAccountId: string; creditAccountId: string; amount: string; currency: string } => {
    const m = among.length;
    const debit = Math.floor(Math.random() * m);
    const credit = (debit + 1 + Math.floor(Math.random() * (m - 1))) % m;
    return { debitAccountId: among[debit]!, creditAccountId: among[credit]!, amount: amount(), currency: CURRENCY };
  };
  const pair = (): ReturnType<typeof pairIn> => pairIn(wallets);
  return {
    uniform: () => ({ path: '/v1/transfers', body: JSON.stringify(pair()), transfers: 1 }),
    ledgers4: () => {
      const i = Math.floor(Math.random() * ledgerWallets.length);
      const ledger = ledgerWallets[i];
      if (ledger === undefined) throw new Error('ledgers4: its ledgers were not set up');
      return { path: '/v1/transfers', body: JSON.stringify(pairIn(ledger)), transfers: 1, token: ledgerTokens[i] };
    },
    hot: () => ({
      path: '/v1/transfers',
      body: JSON.stringify({ debitAccountId: funding, creditAccountId: pick(), amount: amount(), currency: CURRENCY }),
      transfers: 1,
    }),
    batch: () => ({
      path: '/v1/transfers/batch',
      body: JSON.stringify({ transfers: Array.from({ length: BATCH_SIZE }, pair) }),
      transfers: BATCH_SIZE,
    }),
    tx4: () => {
      // A card payment: the payer pays the price, the merchant is settled net of the fee and the tax on it.
      const [payer, merchant, fees, tax] = distinct(wallets, 4);
      const fee = BigInt(amount());
      const taxed = 1n + fee / 5n;
      const price = fee + taxed + BigInt(amount());
      const posting = (accountId: string, direction: string, n: bigint) => ({
        accountId,
        direction,
        amount: n.toString(),
        currency: CURRENCY,
      });
      const postings = [
        posting(payer!, 'debit', price),
        posting(fees!, 'credit', fee),
        posting(tax!, 'credit', taxed),
        posting(merchant!, 'credit', price - fee - taxed),
      ];
      return { path: '/v1/transactions', body: JSON.stringify({ postings }), transfers: postings.length };
    },
  };
}

/** `k` distinct random elements of `among`. */
function distinct(among: string[], k: number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < k) chosen.add(among[Math.floor(Math.random() * among.length)]!);
  return [...chosen];
}

/** CPU shares over one point. */
class Meter {
  private at?: {
    wall: number;
    service: number;
    postgres: number;
    self: NodeJS.CpuUsage;
    reaped: number;
    ioStall: number;
  };
  private machine0 = machineCpu();

  constructor(
    private readonly servicePid: number,
    private readonly postmaster: number | undefined,
  ) {}

  start(): void {
    this.machine0 = machineCpu();
    this.at = {
      wall: performance.now(),
      service: cpuOf(this.servicePid),
      postgres: this.postmaster === undefined ? NaN : postgresCpu(this.postmaster),
      self: process.cpuUsage(),
      reaped: reapedChildrenCpu(),
      ioStall: ioStallSeconds(),
    };
  }

  stop(client: 'self' | 'pgbench'): CpuShare {
    const a = this.at!;
    const wall = (performance.now() - a.wall) / 1000;
    const machine1 = machineCpu();
    const self = process.cpuUsage(a.self);
    const share = {
      service: (cpuOf(this.servicePid) - a.service) / wall,
      postgres: this.postmaster === undefined ? NaN : (postgresCpu(this.postmaster) - a.postgres) / wall,
      client: client === 'self' ? (self.user + self.system) / 1e6 / wall : (reapedChildrenCpu() - a.reaped) / wall,
      machine: (machine1.busy - this.machine0.busy) / wall,
      other: NaN,
      steal: (machine1.steal - this.machine0.steal) / wall,
      ioStall: (ioStallSeconds() - a.ioStall) / wall,
    };
    share.other = Math.max(0, share.machine - share.steal - share.service - share.postgres - share.client);
    return share;
  }
}

/**
 * `SELECT 1` from this process to PostgreSQL every 50 ms while a point runs: the latency of one statement round
 * trip on the machine as loaded, which bounds a path that runs its statements one after another.
 */
class RoundTripProbe {
  private readonly samples: number[] = [];
  private running = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly db: pg.Client) {}

  start(): void {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        const t0 = performance.now();
        await this.db.query('SELECT 1');
        this.samples.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  async stop(): Promise<{ p50: number; p95: number; samples: number }> {
    this.running = false;
    await this.done;
    const sorted = this.samples.splice(0).sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    return { p50: q(0.5), p95: q(0.95), samples: sorted.length };
  }
}

interface MeasureSpec {
  service: Service;
  meter: Meter;
  probe: RoundTripProbe;
  token: string;
  scenario: Exclude<Scenario, 'webhook'>;
  clients: number;
  s: Settings;
  keyPrefix: string;
  next: () => Shot;
  metricsPool: Pool;
  rate?: number;
}

/** Warm-up, then the measured run, with the service's retries, memory and everyone's CPU over it. */
async function measure(m: MeasureSpec): Promise<Point> {
  const pool = openPool(m.service.url, m.clients);
  try {
    const base = { pool, token: m.token, clients: m.clients, next: m.next, ratePerSecond: m.rate };
    const canReset = resetPeak(m.service.pid);
    let sampled = memoryOf(m.service.pid)?.rssMb ?? NaN;
    const sampler = setInterval(() => {
      sampled = Math.max(sampled, memoryOf(m.service.pid)?.rssMb ?? NaN);
    }, 250);
    let load: LoadResult;
    let delta: Counters;
    let cpu: CpuShare;
    let roundTrip: Point['pgRoundTripMs'];
    try {
      if (m.s.warmupSeconds > 0) await drive({ ...base, seconds: m.s.warmupSeconds, keyPrefix: `${m.keyPrefix}-w` });
      const before = await counters(m.metricsPool);
      m.meter.start();
      m.probe.start();
      load = await drive({ ...base, seconds: m.s.seconds, keyPrefix: m.keyPrefix });
      cpu = m.meter.stop('self');
      roundTrip = await m.probe.stop();
      delta = countersDelta(before, await counters(m.metricsPool));
    } finally {
      clearInterval(sampler);
    }
    const hwm = canReset ? (memoryOf(m.service.pid)?.hwmMb ?? NaN) : NaN;
    const retriesTotal = Object.values(delta.retries).reduce((a, b) => a + b, 0);
    return {
      scenario: m.rate === undefined ? m.scenario : 'uniform-paced',
      clients: m.clients,
      ...(m.rate === undefined ? {} : { targetRate: m.rate }),
      ...load,
      retries: delta.retries,
      retriesTotal,
      retriesPercent: load.requests === 0 ? NaN : (retriesTotal / load.requests) * 100,
      retriesExhausted: delta.exhausted,
      groups: {
        perSecond: delta.groups.count / load.seconds,
        meanUnits: delta.groups.units / delta.groups.count,
        meanMs: (delta.groups.seconds / delta.groups.count) * 1000,
        over50Ms: delta.groups.over50Ms,
      },
      heapMbAtEnd: delta.heapMb,
      peakRssMb: Number.isNaN(hwm) ? sampled : Math.max(hwm, sampled),
      cpu,
      pgRoundTripMs: roundTrip,
      ratioToPgbench: null,
    };
  } finally {
    await pool.close();
  }
}

/**
 * The webhook scenario: one webhook subscribed to every event, delivering to a receiver on loopback; `uniform` and
 * `batch` again at the client count of their best point, then `uniform` open loop at the rate of the paced point.
 * Before each point the webhook's cursor is moved to the newest event (a replay with `after`), so that a backlog
 * one point left does not count against the next; after it, the bench waits up to WEBHOOK_WAIT_MS for the events
 * the point wrote (warm-up included), and their lag is taken from the receiver.
 */
async function measureWithWebhook(c: {
  measured: Point[];
  paced: Point | null;
  runId: string;
  db: pg.Client;
  pool: Pool;
  adminToken: () => Promise<string>;
  measure: (scenario: 'uniform' | 'batch', clients: number, keyPrefix: string, rate?: number) => Promise<Point>;
}): Promise<NonNullable<Results['webhook']>> {
  const receiver = await startReceiver();
  try {
    const hook = await expect<{ id: string }>(c.pool, 201, 'POST', '/v1/webhooks', {
      token: await c.adminToken(),
      key: `${c.runId}-webhook`,
      body: { url: receiver.url, types: EVENT_TYPES, description: 'bench: the webhook scenario' },
    });
    const newest = async (): Promise<bigint> =>
      BigInt((await c.db.query<{ seq: string }>(`SELECT coalesce(max(seq), 0)::text AS seq FROM events`)).rows[0]!.seq);
    const withWebhook = async (
      scenario: 'uniform' | 'batch',
      clients: number,
      without: number | null,
      rate?: number,
    ): Promise<WebhookPoint> => {
      const after = await newest();
      await expect(c.pool, 200, 'POST', `/v1/webhooks/${hook.id}/replay`, {
        token: await c.adminToken(),
        key: `${c.runId}-webhook-${scenario}-${rate === undefined ? clients : 'paced'}`,
        body: { after: after.toString() },
      });
      const point = await c.measure(
        scenario,
        clients,
        `webhook-${scenario}-${rate === undefined ? clients : 'paced'}`,
        rate,
      );
      const through = await newest();
      await receiver.waitFor(through, WEBHOOK_WAIT_MS);
      const [written] = (
        await c.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE seq > $1 AND seq <= $2`, [
          after.toString(),
          through.toString(),
        ])
      ).rows;
      const result = {
        ...point,
        webhookLagMs: await receiver.lag(after, through, written!.n),
        withoutWebhook: without,
      };
      say(`${pointText(point)}  with a webhook: ${lagText(result)}`);
      return result;
    };
    const points: WebhookPoint[] = [];
    for (const scenario of ['uniform', 'batch'] as const) {
      const top = best(c.measured.filter((p) => p.scenario === scenario));
      if (top !== undefined) points.push(await withWebhook(scenario, top.clients, top.transfersPerSecond));
    }
    const paced =
      c.paced === null
        ? null
        : await withWebhook('uniform', c.paced.clients, c.paced.transfersPerSecond, c.paced.targetRate);
    return { points, paced };
  } finally {
    await receiver.close();
  }
}

function lagText(p: WebhookPoint): string {
  const l = p.webhookLagMs;
  const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'never');
  return (
    `${l.received} of ${l.events} events received, lag p50 ${ms(l.p50)} p95 ${ms(l.p95)} p99 ${ms(l.p99)} ` +
    `max ${ms(l.max)} ms` +
    (p.withoutWebhook === null
      ? ''
      : `; ${(p.transfersPerSecond / p.withoutWebhook).toFixed(2)}× the transfers/s without`)
  );
}

function targets(r: Results): TargetCheck[] {
  const bestOf = (scenario: Scenario): Point | undefined => best(r.points.filter((p) => p.scenario === scenario));
  const ref = r.pgbenchPoints.reduce<PgbenchPoint | undefined>(
    (a, p) => (a === undefined || p.tps > a.tps ? p : a),
    undefined,
  );
  const refText = ref === undefined ? 'pgbench not run' : `pgbench ${fmt(ref.tps)} tps at ${ref.clients} clients`;
  const ratio = (p: Point | undefined): number | undefined =>
    p === undefined || ref === undefined ? undefined : p.transfersPerSecond / ref.tps;
  const checks: TargetCheck[] = [];

  const ratioCheck = (scenario: Scenario, goal: number, extra?: (p: Point) => boolean): void => {
    const p = bestOf(scenario);
    const x = ratio(p);
    const failed = r.points.filter((q) => q.scenario === scenario).reduce((a, q) => a + q.failedRequests, 0);
    const measured =
      p === undefined
        ? 'not run'
        : `${fmt(p.transfersPerSecond)} transfers/s at ${p.clients} clients` +
          (x === undefined ? '' : ` = ${x.toFixed(2)}× (${refText})`) +
          (extra === undefined ? '' : `; ${failed} failed requests over all ${scenario} points`);
    const met = p === undefined || x === undefined ? null : x >= goal && (extra === undefined || extra(p));
    checks.push({
      name: scenario === 'batch' ? 'batch ≥ 3× (transfers/s)' : `${scenario} ≥ ${goal}×${extra ? ', 0 failed' : ''}`,
      goal: `${goal}× pgbench TPC-B (best client count of each)${extra ? ' with 0 failed requests' : ''}`,
      measured,
      met,
      why: '',
    });
  };
  ratioCheck('uniform', 0.7);
  ratioCheck('hot', 0.4, () => r.points.filter((q) => q.scenario === 'hot').every((q) => q.failedRequests === 0));
  ratioCheck('batch', 3);

  // ledgers4 beside uniform: the same load over 4 ledgers should go at least as fast, and rarely retry.
  const uniform = bestOf('uniform');
  const ledgers4 = bestOf('ledgers4');
  if (uniform !== undefined && ledgers4 !== undefined) {
    checks.push({
      name: 'ledgers4 ≥ uniform (transfers/s)',
      goal: 'the best ledgers4 transfers/s ≥ the best uniform transfers/s (the same load over 4 ledgers instead of 1)',
      measured:
        `ledgers4 ${fmt(ledgers4.transfersPerSecond)} transfers/s at ${ledgers4.clients} clients, uniform ` +
        `${fmt(uniform.transfersPerSecond)} at ${uniform.clients} = ` +
        `${(ledgers4.transfersPerSecond / uniform.transfersPerSecond).toFixed(2)}×`,
      met: ledgers4.transfersPerSecond >= uniform.transfersPerSecond,
      why: '',
    });
  }
  const ledgers4Points = r.points.filter((q) => q.scenario === 'ledgers4');
  if (ledgers4Points.length > 0) {
    const worst = ledgers4Points.reduce((a, q) => (retriesShare(q) > retriesShare(a) ? q : a));
    checks.push({
      name: 'ledgers4 retries < 1 %',
      goal: 'serialization retries < 1 % of the requests at every ledgers4 point',
      measured:
        `at most ${retriesShare(worst).toFixed(2)} % (${worst.retriesTotal} retries over ${worst.requests} ` +
        `requests at ${worst.clients} clients)`,
      met: ledgers4Points.every((q) => retriesShare(q) < 1),
      why: '',
    });
  }

  // Issue #25: a 4-posting transaction beside uniform transfers, postings/s against entries/s (two per transfer).
  const tx4 = bestOf('tx4');
  if (uniform !== undefined && tx4 !== undefined) {
    const x = tx4.transfersPerSecond / (2 * uniform.transfersPerSecond);
    const perRequest = (p: Point, cores: number): string => ((cores / p.requestsPerSecond) * 1e6).toFixed(0);
    checks.push({
      name: 'tx4 ≥ 1.5× uniform (postings/s against entries/s)',
      goal: 'the best tx4 postings/s ≥ 1.5 × the best uniform entries/s (two per transfer), in the same run',
      measured:
        `tx4 ${fmt(tx4.transfersPerSecond)} postings/s at ${tx4.clients} clients, uniform ` +
        `${fmt(2 * uniform.transfersPerSecond)} entries/s at ${uniform.clients} = ${x.toFixed(2)}×`,
      met: x >= 1.5,
      why:
        `A transaction of four postings cost ${perRequest(tx4, tx4.cpu.service)} µs of service CPU and ` +
        `${perRequest(tx4, tx4.cpu.postgres)} µs of PostgreSQL CPU; a uniform transfer ` +
        `${perRequest(uniform, uniform.cpu.service)} and ${perRequest(uniform, uniform.cpu.postgres)} µs.`,
    });
  }

  const paced = r.paced;
  checks.push({
    name: 'p99 ≤ 25 ms at 70 % of the uniform peak',
    goal: 'p99 ≤ 25 ms, open loop at 0.7 × the best uniform transfers/s',
    measured:
      paced === null
        ? 'not run'
        : `p99 ${paced.latencyMs.p99.toFixed(1)} ms (p50 ${paced.latencyMs.p50.toFixed(1)}, p95 ` +
          `${paced.latencyMs.p95.toFixed(1)}) at ${fmt(paced.transfersPerSecond)} of ${fmt(paced.targetRate ?? NaN)} ` +
          `scheduled transfers/s, ${paced.failedRequests} failed`,
    met: paced === null ? null : paced.latencyMs.p99 <= 25 && paced.failedRequests === 0,
    why: '',
  });
  if (r.webhook !== undefined) {
    for (const scenario of ['uniform', 'batch'] as const) {
      const p = r.webhook.points.find((q) => q.scenario === scenario);
      const ratio = p === undefined || p.withoutWebhook === null ? undefined : p.transfersPerSecond / p.withoutWebhook;
      checks.push({
        name: `webhook: ${scenario} ≥ 90 % of without`,
        goal: `${scenario} transfers/s with one webhook ≥ 0.9 × without, at the client count of the best ${scenario} point`,
        measured:
          p === undefined || ratio === undefined
            ? 'not run'
            : `${fmt(p.transfersPerSecond)} vs ${fmt(p.withoutWebhook!)} transfers/s at ${p.clients} clients = ` +
              `${ratio.toFixed(2)}×`,
        met: ratio === undefined ? null : ratio >= 0.9,
        why: p === undefined ? '' : `Delivery during that point: ${lagText(p)}.`,
      });
    }
    const p = r.webhook.paced;
    checks.push({
      name: 'webhook lag p99 < 1 s at 70 % of the uniform peak',
      goal: 'from an event being written to its arrival at the receiver, p99 < 1 s, uniform open loop at the paced rate',
      measured: p === null ? 'not run' : lagText(p),
      met: p === null ? null : p.webhookLagMs.p99 < 1000,
      why:
        p === null
          ? ''
          : `Request latency with the webhook: p50 ${p.latencyMs.p50.toFixed(1)}, p99 ${p.latencyMs.p99.toFixed(1)} ms ` +
            `(without: p99 ${r.paced?.latencyMs.p99.toFixed(1) ?? '-'} ms); CPU: service ${p.cpu.service.toFixed(2)}, ` +
            `PostgreSQL ${p.cpu.postgres.toFixed(2)}, client ${p.cpu.client.toFixed(2)}, other (the receiver among it) ` +
            `${p.cpu.other.toFixed(2)}.`,
    });
  }
  checks.push({
    name: 'service RSS ≤ 300 MB throughout',
    goal: 'VmHWM of the service process ≤ 300 MB from start to end',
    measured: `peak ${r.peakRssMb.toFixed(0)} MB`,
    met: Number.isNaN(r.peakRssMb) ? null : r.peakRssMb <= 300,
    why: '',
  });
  return checks;
}

/** Serialization retries per request, in percent (NaN without requests). */
function retriesShare(p: Point): number {
  return p.retriesPercent ?? (p.requests === 0 ? NaN : (p.retriesTotal / p.requests) * 100);
}

/** The point with the most transfers/s. */
function best(points: Point[]): Point | undefined {
  return points.reduce<Point | undefined>(
    (a, p) => (a === undefined || p.transfersPerSecond > a.transfersPerSecond ? p : a),
    undefined,
  );
}

function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor(v.length / 2)]!;
}

/** The checked-out commit, read from .git without running git. */
function gitCommit(): string | null {
  try {
    const head = readFileSync('.git/HEAD', 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    if (existsSync(join('.git', ref))) return readFileSync(join('.git', ref), 'utf8').trim();
    const packed = readFileSync('.git/packed-refs', 'utf8');
    return new RegExp(`^([0-9a-f]{40}) ${ref}$`, 'm').exec(packed)?.[1] ?? null;
  } catch {
    return null;
  }
}

function pointText(p: Point): string {
  const errors = Object.entries(p.errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');
  return (
    `${p.scenario.padEnd(8)} c=${pad(p.clients, 3)} ${fmt(p.transfersPerSecond, 9)} transfers/s ` +
    `(${fmt(p.requestsPerSecond)} req/s)  p50 ${p.latencyMs.p50.toFixed(1)}  p95 ${p.latencyMs.p95.toFixed(1)}  ` +
    `p99 ${p.latencyMs.p99.toFixed(1)} ms  errors ${errors || 'none'}  ` +
    `retries ${p.retriesTotal} (${Number.isNaN(retriesShare(p)) ? 'n/a' : retriesShare(p).toFixed(2)} %)` +
    `${p.retriesExhausted > 0 ? ` (exhausted ${p.retriesExhausted})` : ''}  groups ${fmt(p.groups.perSecond)}/s ` +
    `× ${p.groups.meanUnits.toFixed(1)} in ${p.groups.meanMs.toFixed(1)} ms (${p.groups.over50Ms} over 50 ms)  RSS ${p.peakRssMb.toFixed(0)} MB  ` +
    `${p.ratioToPgbench === null ? '' : `${p.ratioToPgbench.toFixed(2)}× pgbench  `}` +
    `SELECT 1 ${p.pgRoundTripMs.p50.toFixed(2)} ms  ${cpuText(p.cpu)}`
  );
}

function cpuText(c: CpuShare): string {
  const f = (x: number): string => (Number.isNaN(x) ? '?' : x.toFixed(2));
  return (
    `cpu service ${f(c.service)} pg ${f(c.postgres)} client ${f(c.client)} other ${f(c.other)} ` +
    `steal ${f(c.steal)}  io stall ${Number.isNaN(c.ioStall) ? '?' : `${(c.ioStall * 100).toFixed(0)} %`}`
  );
}

const fmt = (x: number, width = 0): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(0)).padStart(width);
const pad = (x: number, width: number): string => String(x).padEnd(width);

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
