import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { ENTITIES } from './entities.js';
import { ListeningClient } from './pooled-client.js';

export interface PoolSettings {
  poolSize: number;
  statementTimeoutMs: number;
  applicationName: string;
}

/** One definition for the service, the migration command and the tests: schema only through migrations. */
export function dataSourceOptions(url: string, pool: PoolSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    applicationName: pool.applicationName,
    poolSize: pool.poolSize,
    connectTimeoutMS: 2000,
    extra: {
      Client: ListeningClient,
      // A stuck statement, lock wait or abandoned transaction must fail fast instead of pinning a connection.
      statement_timeout: pool.statementTimeoutMs,
      lock_timeout: Math.min(pool.statementTimeoutMs, 5000),
      idle_in_transaction_session_timeout: 30_000,
      idleTimeoutMillis: 30_000,
    },
  };
}
