import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { checkout, poolOf } from '../database/pooled-client.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { Unavailable } from './unavailable.js';

/**
 * A statement runner bound to one open SERIALIZABLE transaction. Statements are pipelined: each is sent at
 * once, behind the ones before it, and the server runs them in order.
 */
export interface Tx {
  /**
   * Runs a statement and returns its rows; a failed `write` before it fails this call first. A `name` makes
   * it a prepared statement of the connection: parsed and planned once, not on every group.
   */
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[], name?: string): Promise<R[]>;
  /**
   * Sends a statement whose rows nobody needs without waiting for it: it runs in order, and if it fails the
   * transaction cannot commit (the error surfaces at the next `query`, `flush` or at COMMIT).
   */
  write(text: string, values?: unknown[], name?: string): void;
  /** Waits for the writes sent so far; throws the first that failed. */
  flush(): Promise<void>;
}

const RETRYABLE = new Set(['40001', '40P01']);
// Any constant: the same for every instance. With a lane's key it names that lane's writer lock (the two-key
// advisory locks never collide with the one-key migration lock).
const WRITER_LOCK = 7_105_002;
/**
 * Transactions in flight at once, at most (one per lane of `Writes`): each holds a connection of the writers'
 * pool, which has one more for asking after a commit whose answer was lost.
 */
export const MAX_CONCURRENT_TRANSACTIONS = 4;
/** The writer lock of the writes that belong to no ledger. */
export const SHARED_LOCK = -1;
/**
 * The administrative log's writer lock, held by every group that may append to it (beside its lanes'), taken
 * before its snapshot like them: appends from different lanes then follow each other instead of failing with
 * 40001 on the log's last record.
 */
export const LOG_LOCK = -2;
export const MAX_ATTEMPTS = 25;
export const MAX_TOTAL_MS = 5000;

/**
 * The transaction boundary of the write entrance (`Writes`): every group of writes runs here, in a SERIALIZABLE
 * transaction, and is retried on serialization failures and deadlocks with full-jitter exponential backoff,
 * bounded in attempts and in time. When retries run out it throws `Unavailable` and nothing was written. Keep
 * network calls and slow work out of `work`.
 */
@Injectable()
export class Serializable {
  private readonly pool: Pool;

  constructor(
    dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {
    // The money path has a small pool of its own: plain parameterised SQL, no entity hydration, and pipelined
    // connections (pg's `pipeline`), so that the writer lock, BEGIN and a group's first reads travel in one
    // round trip, and its writes and COMMIT in one more. One transaction runs per lane, a few lanes at once; the
    // last connection is for asking whether a commit whose answer was lost went through.
    //
    // Its statements are prepared, and PostgreSQL caches a generic plan for each on the connection. One made
    // while a table was small (a fresh install, a test database) scans it whole, and keeps doing so as the table
    // grows until autovacuum happens to analyze it: in a benchmark every group read all of idempotency_keys.
    // Every statement here, and every foreign-key check it fires, finds rows by key, so on these connections
    // the planner is told never to prefer a sequential scan, a hash join or a merge join.
    const shared = poolOf(dataSource);
    const options = {
      ...shared.options,
      password: shared.options.password,
      max: MAX_CONCURRENT_TRANSACTIONS + 1,
      pipeline: true,
      options: [shared.options.options, '-c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off']
        .filter(Boolean)
        .join(' '),
    };
    this.pool = new (shared.constructor as new (o: typeof options) => Pool)(options);
    // An idle connection cut by the server (a restart, pg_terminate_backend) is dropped by the pool; without a
    // listener its 'error' event would kill the process.
    this.pool.on('error', () => {});
  }

  /** Closes the pool once nothing runs any more (the group committer drains first). */
  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Runs `work` under the writer locks `locks` (its lanes': one transaction per lane at a time, on every
   * instance). They are taken in ascending order, as every writer takes them, so writers never deadlock on them.
   */
  async run<T>(work: (tx: Tx) => Promise<T>, locks: readonly number[] = [SHARED_LOCK]): Promise<T> {
    const sorted = [...new Set(locks.map((l) => l | 0))].sort((a, b) => a - b);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(work, sorted);
      } catch (error) {
        const decision = retryDecision(error, attempt, Date.now() - started);
        if (decision === 'fail') throw error;
        if (decision === 'exhausted') {
          this.metrics.transactionsExhausted.inc();
          throw new Unavailable('the ledger is busy: serialization retries ran out, nothing was written');
        }
        this.metrics.serializationRetries.labels(sqlState(error)!).inc();
        await sleep(decision.waitMs);
      }
    }
  }

  private async once<T>(work: (tx: Tx) => Promise<T>, locks: readonly number[]): Promise<T> {
    const unlock = `SELECT ${locks.map((l) => `pg_advisory_unlock(${WRITER_LOCK}, ${l})`).join(', ')}`;
    const { client, release } = await checkout(this.pool);
    let broken = false;
    let xid: string | undefined;
    let committing = false;
    let result: T;
    // Every statement below is sent at once; a promise nobody awaits yet must not count as unhandled.
    const send = <R extends object>(text: string, values?: unknown[], name?: string) => {
      const sent = client.query<R>(name === undefined ? { text, values } : { name, text, values });
      sent.catch(() => {});
      return sent;
    };
    try {
      // One writing transaction per lane at a time across every instance: the session lock is taken before
      // BEGIN, so the transaction's snapshot is taken after the lane's previous writer committed (the server runs
      // pipelined statements in order, and BEGIN waits behind the lock). Without it, two instances' transactions
      // of one ledger look like rw-conflicts to SSI whenever their inserts share an index page (reference checks
      // read those pages), and abort each other. The lock dies with the connection if the process does. The
      // transaction id lets a commit whose answer is lost still be told committed or not.
      // One statement per lock, run in order.
      const locked = Promise.all(locks.map((l) => send(`SELECT pg_advisory_lock(${WRITER_LOCK}, ${l})`)));
      const begun = send('BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_current_xact_id()::text AS xid');
      const ready = Promise.all([locked, begun]).then(([, b]) => {
        xid = (b as unknown as [unknown, { rows: { xid: string }[] }])[1].rows[0]?.xid;
      });
      let writes: Promise<unknown>[] = [];
      const flush = async (): Promise<void> => {
        await ready;
        const sent = writes;
        writes = [];
        await Promise.all(sent);
      };
      const tx: Tx = {
        query: async <R extends object>(text: string, values?: unknown[], name?: string) => {
          const sent = send<R>(text, values, name);
          await flush();
          return (await sent).rows;
        },
        write: (text, values, name) => {
          writes.push(send(text, values, name));
        },
        flush,
      };
      result = await work(tx);
      // COMMIT and unlock in one simple-protocol statement, sent behind the writes without waiting for them:
      // if one failed, the server turns the COMMIT into a ROLLBACK and the write's error is thrown here.
      committing = true;
      const committed = send(`COMMIT; ${unlock}`);
      await flush();
      const [commit] = (await committed) as unknown as [{ command: string }];
      if (commit.command !== 'COMMIT') throw new Error(`the transaction ended in ${commit.command}, not COMMIT`);
      return result;
    } catch (error) {
      // After a failed COMMIT there is no transaction left and ROLLBACK only warns; the unlock still runs. A
      // connection that cannot do this is destroyed, which also frees its lock. Being pipelined behind every
      // statement sent before, it also waits for all of them to be answered.
      await client.query(`ROLLBACK; ${unlock}`).catch(() => {
        broken = true;
      });
      const code = sqlState(error);
      if (committing && xid !== undefined && (code === undefined || !RETRYABLE.has(code))) {
        // The connection failed once COMMIT was sent: the transaction may well have committed. Ask the server.
        const status = await this.statusOf(xid);
        if (status === 'committed') return result!;
        if (status !== 'aborted') {
          throw new Unavailable(
            'the database connection failed while committing and the outcome could not be confirmed: retry with the same Idempotency-Key',
          );
        }
      }
      throw error;
    } finally {
      release(broken);
    }
  }

  /** Whether a transaction committed, asked on a fresh connection for up to a few seconds; undefined if unknown. */
  private async statusOf(xid: string): Promise<string | undefined> {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      try {
        const { client, release } = await checkout(this.pool);
        try {
          const { rows } = await client.query<{ s: string | null }>('SELECT pg_xact_status($1::xid8) AS s', [xid]);
          if (rows[0]?.s === 'committed' || rows[0]?.s === 'aborted') return rows[0].s;
        } finally {
          release();
        }
      } catch {
        // the database is still away: try again shortly
      }
      await sleep(200);
    }
    return undefined;
  }
}

/**
 * Whether a failed attempt is run again: only serialization failures and deadlocks are, after a full-jitter
 * exponential backoff (capped at 200 ms, so a hot group retries soon), until the attempts or the time run out.
 */
export function retryDecision(
  error: unknown,
  attempt: number,
  elapsedMs: number,
  random: () => number = Math.random,
): 'fail' | 'exhausted' | { waitMs: number } {
  const code = sqlState(error);
  if (code === undefined || !RETRYABLE.has(code)) return 'fail';
  if (attempt >= MAX_ATTEMPTS || elapsedMs >= MAX_TOTAL_MS) return 'exhausted';
  return { waitMs: random() * Math.min(200, 2 ** attempt * 2, MAX_TOTAL_MS - elapsedMs) };
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
