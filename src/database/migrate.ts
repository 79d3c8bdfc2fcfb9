import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/config.js';
import { dataSourceOptions } from './data-source-options.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { runMigrations } from './migrations.js';

/** `npm run migration:run`: applies pending migrations to `DATABASE_URL`, or to the embedded server. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = (m: string): void => void process.stdout.write(`${m}\n`);
  const embedded =
    config.databaseUrl === undefined
      ? await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log)
      : undefined;
  const dataSource = new DataSource(
    dataSourceOptions(config.databaseUrl ?? embedded!.url, {
      poolSize: 2,
      statementTimeoutMs: 600_000,
      applicationName: 'ledger-migrate',
    }),
  );
  try {
    await dataSource.initialize();
    const applied = await runMigrations(dataSource);
    log(applied.length === 0 ? 'no pending migrations' : `applied: ${applied.join(', ')}`);
  } finally {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    error instanceof ConfigError ? `Invalid configuration: ${error.message}\n` : `Migration failed: ${String(error)}\n`,
  );
  process.exit(1);
});
