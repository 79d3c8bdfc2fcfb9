import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
