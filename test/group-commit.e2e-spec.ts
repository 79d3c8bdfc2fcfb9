import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { LedgerError } from '../src/core/errors.js';
import { type BulkHandler, GroupCommitter } from '../src/database/group-commit.js';
import { Serializable } from '../src/database/serializable.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { cellsDatabase } from './support/database.js';

// The group commit on a real PostgreSQL: units that arrive while a transaction is in flight share the next
// one, a refused unit is undone alone, and the next group is under way before the last one's callers resume.
describe('GroupCommitter', () => {
  let dataSource: DataSource;
  let committer: GroupCommitter;
  let metrics: MetricsService;
  let sql: pg.Client;

  beforeAll(async () => {
    ({ dataSource, sql } = await cellsDatabase('group-commit-test'));
    metrics = new MetricsService();
    committer = new GroupCommitter(new Serializable(dataSource, metrics), metrics);
  });
  afterAll(async () => {
    await committer.onApplicationShutdown();
    await sql.end();
    await dataSource.destroy();
  });
  beforeEach(() => sql.query('TRUNCATE cells'));

  const ids = async (): Promise<number[]> =>
    (await sql.query<{ id: number }>('SELECT id FROM cells ORDER BY id')).rows.map((r) => r.id);
  const groups = async (): Promise<number> => {
    const text = await metrics.registry.getSingleMetricAsString('ledger_group_commit_units');
    return Number(/ledger_group_commit_units_count (\d+)/.exec(text)?.[1]);
  };
  const insert =
    (id: number) =>
    async (tx: Parameters<Parameters<GroupCommitter['submit']>[0]>[0]): Promise<number> => {
      await tx.query('INSERT INTO cells VALUES ($1, 0)', [id]);
      return id;
    };

  it('commits the units that queued behind a transaction in one more transaction, refusing one alone', async () => {
    const before = await groups();
    const first = committer.submit(insert(1));
    const queued = [
      committer.submit(insert(2)),
      committer.submit(async (tx) => {
        await insert(3)(tx);
        throw new LedgerError('INSUFFICIENT_FUNDS', 'refused after writing: its row must not stay');
      }),
      committer.submit(insert(4)),
    ];
    const outcomes = await Promise.allSettled([first, ...queued]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(LedgerError);
    expect(await ids()).toEqual([1, 2, 4]);
    expect((await groups()) - before).toBe(2);
  });

  it('fails a unit that breaks for another reason alone, and commits its neighbours without it', async () => {
    const outcomes = await Promise.allSettled([
      committer.submit(insert(1)),
      committer.submit(insert(2)),
      committer.submit(async (tx) => {
        await tx.query('INSERT INTO cells VALUES (3, -1)'); // violates the CHECK: not a ledger refusal
      }),
      committer.submit(insert(4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await ids()).toEqual([1, 2, 4]);
  });

  it('hands bulk units to their handler together, one result each', async () => {
    const calls: number[][] = [];
    const handler: BulkHandler<number> = async (tx, inputs) => {
      calls.push(inputs);
      const accepted = inputs.filter((i) => i !== 13);
      await tx.query('INSERT INTO cells SELECT unnest($1::int[]), 0', [accepted]);
      return inputs.map((i) =>
        accepted.includes(i) ? { value: i } : { refusal: new LedgerError('SAME_ACCOUNT', 'no') },
      );
    };
    const blocker = committer.submit(insert(100));
    const results = await Promise.allSettled([11, 12, 13].map((i) => committer.submitBulk(1, handler, i)));
    await blocker;
    expect(calls).toEqual([[11, 12, 13]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'refused'))).toEqual([11, 12, 'refused']);
    expect(await ids()).toEqual([11, 12, 100]);
  });

  it("starts the next group's transaction before the previous group's callers resume", async () => {
    const events: string[] = [];
    const first = committer.submit(insert(1)).then(() => events.push('first group answered'));
    const second = committer.submit(async (tx) => {
      events.push('second group started');
      return insert(2)(tx);
    });
    await Promise.all([first, second]);
    expect(events).toEqual(['second group started', 'first group answered']);
    expect(await ids()).toEqual([1, 2]);
  });
});
