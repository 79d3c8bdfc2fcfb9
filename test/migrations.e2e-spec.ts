import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { runMigrations } from '../src/database/migrations.js';
import { createDatabase } from './support/database.js';

/** Like `typeorm migration:generate`: what the entities would still change after every migration ran. */
describe('migrations', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource(
      dataSourceOptions(await createDatabase(), { poolSize: 2, statementTimeoutMs: 60_000, applicationName: 'test' }),
    );
    await dataSource.initialize();
  });
  afterAll(() => dataSource.destroy());

  it('applies every migration, and generating a migration from the entities then yields nothing', async () => {
    const applied = await runMigrations(dataSource);
    expect(applied.length).toBeGreaterThan(0);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('is idempotent: a second run applies nothing', async () => {
    expect(await runMigrations(dataSource)).toEqual([]);
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('reverts the latest migration and applies it again, ending where it started', async () => {
    const foreignKeys = (): Promise<{ n: number }[]> =>
      dataSource.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f'`);
    // The latest migration replaces the five foreign keys with reference-check triggers.
    expect(await foreignKeys()).toEqual([{ n: 0 }]);
    await dataSource.undoLastMigration();
    expect(await foreignKeys()).toEqual([{ n: 5 }]);
    expect((await runMigrations(dataSource)).length).toBe(1);
    expect(await foreignKeys()).toEqual([{ n: 0 }]);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  // TypeORM's schema diff does not compare an index's WHERE clause, so the drift test above cannot see it.
  it('gives every partial index the WHERE clause its entity declares', async () => {
    const declared = dataSource.entityMetadatas.flatMap((m) =>
      m.indices.filter((i) => i.where !== undefined && i.where !== '').map((i) => [i.name, predicate(i.where!)]),
    );
    expect(declared.length).toBeGreaterThanOrEqual(4);
    const rows = await dataSource.query<{ name: string; predicate: string }[]>(
      `SELECT c.relname AS name, pg_get_expr(i.indpred, i.indrelid) AS predicate
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY($1)`,
      [declared.map(([name]) => name)],
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, predicate(r.predicate)]))).toEqual(Object.fromEntries(declared));
  });
});

/** What an index predicate says, whichever way it is written: PostgreSQL adds parentheses and casts. */
const predicate = (sql: string): string =>
  sql
    .replace(/::[a-z ]+/g, '')
    .replace(/[()\s]/g, '')
    .toLowerCase();
