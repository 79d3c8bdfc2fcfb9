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
});
