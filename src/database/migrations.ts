import type { DataSource } from 'typeorm';

// Any constant works; it only has to be the same for every instance of the service.
const MIGRATION_LOCK = 7_105_001;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so several instances starting at
 * once apply each migration exactly once. Returns the names applied.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.release();
  }
}
