import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options.js';

/** The server URL the global setup started, with `database` swapped in. */
export function serverUrl(database = 'postgres'): string {
  const url = new URL(process.env.LEDGER_TEST_PG_URL ?? '');
  if (url.protocol === ':' || url.host === '')
    throw new Error('LEDGER_TEST_PG_URL is not set: run the tests through jest');
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, empty database for one suite. */
export async function createDatabase(): Promise<string> {
  const name = `ledger_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return serverUrl(name);
}

/** A direct connection for assertions made straight in SQL, bypassing the service. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A server stopped at the end of the run must not crash the test process through an unhandled 'error'.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * For tests of the transaction boundary and the group commit: a fresh database holding only `cells` (an id
 * and a value that a CHECK keeps at zero or more), the service's DataSource on it, and a direct connection.
 */
export async function cellsDatabase(applicationName: string): Promise<{ dataSource: DataSource; sql: pg.Client }> {
  const url = await createDatabase();
  const dataSource = new DataSource(
    dataSourceOptions(url, { poolSize: 2, statementTimeoutMs: 10_000, applicationName }),
  );
  await dataSource.initialize();
  const sql = await connect(url);
  await sql.query('CREATE TABLE cells (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0))');
  return { dataSource, sql };
}

/** The plan PostgreSQL would use for `text` with these parameters, as EXPLAIN prints it. */
export async function planOf(client: pg.Client, text: string, values: unknown[]): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}
