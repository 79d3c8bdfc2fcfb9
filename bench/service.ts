import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, START_ENV, START_FLAGS } from '../test/support/process.js';
import { alive } from './proc.js';

/** The built service (`dist/src/main.js`) as a child process in production mode, as an operator would run it. */
export interface Service {
  pid: number;
  url: string;
  /** postgres:// URL of the database the service uses (embedded: the cluster it started). */
  databaseUrl: string;
  embedded: boolean;
  adminUsername: string;
  adminPassword: string;
  /** Log lines at warn level or above (LOG_LEVEL=warn), as written by the service. */
  logLines: string[];
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

// Must match src/database/embedded-postgres.ts (the embedded cluster's role and its loopback-only password).
const EMBEDDED_USER = 'ledger';
const EMBEDDED_PASSWORD = 'ledger-embedded';
const MAX_LOG_LINES = 2000;

export interface ServiceOptions {
  runId: string;
  poolSize: number;
  keepData: boolean;
  log: (message: string) => void;
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const externalUrl = process.env.DATABASE_URL || undefined;
  const port = await freePort();
  const adminUsername = `bench-admin-${opts.runId}`;
  const adminPassword = randomBytes(18).toString('base64url');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_USERNAME: adminUsername,
    ADMIN_PASSWORD: adminPassword,
    DB_POOL_SIZE: String(opts.poolSize),
    DB_APPLICATION_NAME: 'ledger-bench',
    // The webhook scenario's receiver listens on loopback, which deliveries otherwise refuse.
    WEBHOOK_ALLOW_PRIVATE: 'true',
  };
  let tempDir: string | undefined;
  let databaseUrl: string;
  let clusterDir: string | undefined;
  if (externalUrl !== undefined) {
    env.DATABASE_URL = externalUrl;
    env.JWT_SECRET = process.env.JWT_SECRET || randomBytes(48).toString('base64');
    env.CHECKPOINT_SIGNING_KEY =
      process.env.CHECKPOINT_SIGNING_KEY ||
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    databaseUrl = externalUrl;
  } else {
    // Traversable by the `postgres` user the embedded cluster runs as when we are root.
    tempDir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
    await chmod(tempDir, 0o755);
    const pgPort = await freePort();
    env.LEDGER_DATA_DIR = join(tempDir, 'data');
    env.EMBEDDED_PG_PORT = String(pgPort);
    databaseUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${pgPort}/postgres`;
    clusterDir = join(tempDir, 'data', 'pg');
    opts.log(`embedded PostgreSQL in ${clusterDir} on 127.0.0.1:${pgPort}`);
  }

  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  // The environment and flags of `npm start` (heap and allocator limits), as an operator runs it.
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...START_FLAGS, 'dist/src/main.js'], {
    env: { ...START_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '' || logLines.length >= MAX_LOG_LINES) continue;
      // LOG_LEVEL=warn keeps the service quiet; main.ts's own start-up lines are level 30 and not interesting.
      if (/"level":\s*30\b/.test(line)) continue;
      logLines.push(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    // A service killed before it could stop its embedded server leaves the postmaster behind: stop that one.
    const postmaster = clusterDir === undefined ? undefined : postmasterPid(clusterDir);
    if (postmaster !== undefined && alive(postmaster)) {
      process.kill(postmaster, 'SIGINT');
      for (let i = 0; i < 100 && alive(postmaster); i++) await new Promise((r) => setTimeout(r, 100));
    }
    if (tempDir !== undefined && !opts.keepData) await rm(tempDir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, exited, 120_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${logLines.join('\n')}`, { cause: error });
  }
  return {
    pid: child.pid!,
    url,
    databaseUrl,
    embedded: externalUrl === undefined,
    adminUsername,
    adminPassword,
    logLines,
    exited,
    stop,
  };
}

/** The postmaster's pid from its lock file, when the cluster's directory is on this machine. */
export function postmasterPid(clusterDir: string): number | undefined {
  const file = join(clusterDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitReady(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (exitCode !== undefined) throw new Error(`the service exited with code ${exitCode} during start-up`);
    try {
      const res = await fetch(`${url}/health/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms`);
}
