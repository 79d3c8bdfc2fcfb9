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

  it('reverts the latest two migrations and applies them again, ending where it started', async () => {
    const foreignKeys = (): Promise<{ n: number }[]> =>
      dataSource.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f'`);
    // The one before the latest replaces the five foreign keys with reference-check triggers.
    expect(await foreignKeys()).toEqual([{ n: 0 }]);
    await dataSource.undoLastMigration();
    await dataSource.undoLastMigration();
    expect(await foreignKeys()).toEqual([{ n: 5 }]);
    expect((await runMigrations(dataSource)).length).toBe(2);
    expect(await foreignKeys()).toEqual([{ n: 0 }]);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('turns idempotency outcomes stored as rendered bodies into domain outcomes, and back', async () => {
    const user = '6f1c0b1e-9a57-4f5e-8d1c-2a3b4c5d6e7f';
    const refusal = {
      type: 'about:blank',
      title: 'Insufficient funds',
      status: 422,
      code: 'INSUFFICIENT_FUNDS',
      detail: 'account x has 5 available, 8 requested',
      requestId: 'req-1',
      index: 3,
    };
    const notFound = { ...refusal, title: 'Not found', status: 404, code: 'NOT_FOUND', detail: 'gone' };
    delete (notFound as Partial<typeof refusal>).index;
    const created = { id: 'a', amount: '1000', metadata: { b: '1', a: '2' } };
    await dataSource.undoLastMigration();
    await dataSource.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) VALUES
         ($1, 'ok', 'h1', 201, $2), ($1, 'refused', 'h2', 422, $3), ($1, 'missing', 'h3', 404, $4)`,
      [user, JSON.stringify(created), JSON.stringify(refusal), JSON.stringify(notFound)],
    );
    expect((await runMigrations(dataSource)).length).toBe(1);
    const stored = async () =>
      Object.fromEntries(
        (
          await dataSource.query<{ key: string; response: unknown; refusal: unknown }[]>(
            `SELECT key, response, refusal FROM idempotency_keys WHERE user_id = $1`,
            [user],
          )
        ).map((r) => [r.key, { response: r.response, refusal: r.refusal }]),
      );
    expect(await stored()).toEqual({
      ok: { response: created, refusal: null },
      refused: {
        response: null,
        refusal: { code: 'INSUFFICIENT_FUNDS', detail: refusal.detail, requestId: 'req-1', index: 3 },
      },
      missing: { response: null, refusal: { code: 'NOT_FOUND', detail: 'gone', requestId: 'req-1' } },
    });
    // A row must hold exactly one of the two.
    await expect(
      dataSource.query(`INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, 'none', 'h4')`, [user]),
    ).rejects.toThrow(/idempotency_keys_one_outcome/);

    await dataSource.undoLastMigration();
    const back = await dataSource.query<{ key: string; status: number; response: unknown }[]>(
      `SELECT key, status, response FROM idempotency_keys WHERE user_id = $1 ORDER BY key`,
      [user],
    );
    expect(back).toEqual([
      { key: 'missing', status: 404, response: notFound },
      { key: 'ok', status: 201, response: created },
      { key: 'refused', status: 422, response: refusal },
    ]);
    expect((await runMigrations(dataSource)).length).toBe(1);
    await dataSource.query(`DELETE FROM idempotency_keys WHERE user_id = $1`, [user]);
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
