import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { poolOf } from '../src/database/pooled-client.js';
import { Serializable, sqlState } from '../src/writes/serializable.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { cellsDatabase } from './support/database.js';

// The transaction boundary on a real PostgreSQL: its statements are pipelined, so a write nobody waits for
// must still decide whether the transaction commits, and the writer lock must never outlive a transaction.
describe('Serializable (the one transaction boundary)', () => {
  let dataSource: DataSource;
  let serializable: Serializable;
  let sql: pg.Client;

  beforeAll(async () => {
    ({ dataSource, sql } = await cellsDatabase('serializable-test'));
    serializable = new Serializable(dataSource, new MetricsService());
  });
  afterAll(async () => {
    await serializable.close();
    await sql.end();
    await dataSource.destroy();
  });
  beforeEach(() => sql.query('TRUNCATE cells'));

  const rows = async (): Promise<{ id: number; v: number }[]> =>
    (await sql.query<{ id: number; v: number }>('SELECT id, v FROM cells ORDER BY id')).rows;
  const writerLocksHeld = async (): Promise<number> =>
    Number(
      (
        await sql.query<{ n: string }>(
          // Advisory locks are per database; other suites' writers hold theirs on the same server.
          `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0]!.n,
    );

  it('survives the server ending a connection that nobody is listening on', async () => {
    // Held outside `checkout`, so neither the pool nor the caller listens for its 'error'.
    const client = await poolOf(dataSource).connect();
    const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await sql.query('SELECT pg_terminate_backend($1)', [pid]);
    // pg emitted 'error' before 'end': with no listener at all, that would have been an uncaught exception.
    await ended;
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('commits pipelined writes and answers reads that follow them', async () => {
    const seen = await serializable.run(async (tx) => {
      tx.write('INSERT INTO cells VALUES ($1, $2)', [1, 10]);
      tx.write('INSERT INTO cells VALUES ($1, $2)', [2, 20], 'insert_cell');
      return tx.query<{ n: number }>('SELECT count(*)::int AS n FROM cells');
    });
    expect(seen).toEqual([{ n: 2 }]);
    expect(await rows()).toEqual([
      { id: 1, v: 10 },
      { id: 2, v: 20 },
    ]);
    expect(await writerLocksHeld()).toBe(0);
  });

  it('commits nothing when a write nobody waited for fails, and throws that write error', async () => {
    const failure = await serializable
      .run((tx) => {
        tx.write('INSERT INTO cells VALUES ($1, $2)', [1, 10]);
        tx.write('INSERT INTO cells VALUES ($1, $2)', [2, -1]); // violates the CHECK
        return Promise.resolve('answered before the write was');
      })
      .catch((error: unknown) => error);
    expect(sqlState(failure)).toBe('23514');
    expect(await rows()).toEqual([]);
    expect(await writerLocksHeld()).toBe(0);
  });

  it('surfaces a failed write at the next query, not as "transaction aborted" from that query', async () => {
    const failure = await serializable
      .run(async (tx) => {
        tx.write('INSERT INTO cells VALUES ($1, $2)', [1, -5]);
        await tx.query('SELECT 1');
        return 'unreachable';
      })
      .catch((error: unknown) => error);
    expect(sqlState(failure)).toBe('23514');
    expect(await rows()).toEqual([]);
  });

  it('runs one writing transaction at a time: 20 concurrent read-modify-writes lose no update', async () => {
    await sql.query('INSERT INTO cells VALUES (1, 0)');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        serializable.run(async (tx) => {
          const [cell] = await tx.query<{ v: number }>('SELECT v FROM cells WHERE id = 1');
          tx.write('UPDATE cells SET v = $1 WHERE id = 1', [cell!.v + 1]);
        }),
      ),
    );
    expect(await rows()).toEqual([{ id: 1, v: 20 }]);
    expect(await writerLocksHeld()).toBe(0);
  });

  it('runs transactions under different writer locks side by side, and under one lock one after another', async () => {
    const order: string[] = [];
    let openFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (openFirst = resolve));
    let signalIn!: () => void;
    const firstIsIn = new Promise<void>((resolve) => (signalIn = resolve));
    const first = serializable.run(
      async (tx) => {
        tx.write('INSERT INTO cells VALUES (1, 1)');
        await tx.flush();
        order.push('lane 1: first in');
        signalIn();
        await firstMayCommit;
        order.push('lane 1: first out');
      },
      [1],
    );
    // The other lane commits while the first transaction is still open.
    await firstIsIn;
    await serializable.run(
      async (tx) => {
        await tx.query('INSERT INTO cells VALUES (2, 2)');
        order.push('lane 2');
      },
      [2],
    );
    // A second transaction of lane 1 waits for the first (behind its writer lock) before it even begins.
    const second = serializable.run(
      async (tx) => {
        await tx.query('INSERT INTO cells VALUES (3, 3)');
        order.push('lane 1: second');
      },
      [1],
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual(['lane 1: first in', 'lane 2']);
    openFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['lane 1: first in', 'lane 2', 'lane 1: first out', 'lane 1: second']);
    expect((await rows()).map((r) => r.id)).toEqual([1, 2, 3]);
    expect(await writerLocksHeld()).toBe(0);
  });

  it('keeps working after a failure: the next transaction commits', async () => {
    await serializable.run(() => Promise.reject(new Error('the unit of work gave up'))).catch(() => undefined);
    await serializable.run((tx) => Promise.resolve(tx.write('INSERT INTO cells VALUES (7, 7)')));
    expect(await rows()).toEqual([{ id: 7, v: 7 }]);
    expect(await writerLocksHeld()).toBe(0);
  });
});
