import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { LedgerError } from '../src/core/errors.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import type { BulkUseCase, UseCase } from '../src/writes/group.js';
import type { Outcome } from '../src/writes/idempotency.js';
import { Serializable, type Tx } from '../src/writes/serializable.js';
import { SYSTEM_REQUEST } from '../src/writes/write-request.js';
import { Writes } from '../src/writes/writes.js';
import { cellsDatabase } from './support/database.js';

// The write entrance's group commit on a real PostgreSQL: units that arrive while a transaction is in flight
// share the next one, a refused unit is undone alone, and the next group is under way before the last one's
// callers resume. (Idempotency keys: src/writes/group.spec.ts and the API suites.)
describe('Writes (group commit)', () => {
  let dataSource: DataSource;
  let writes: Writes;
  let metrics: MetricsService;
  let sql: pg.Client;

  beforeAll(async () => {
    ({ dataSource, sql } = await cellsDatabase('group-commit-test'));
    metrics = new MetricsService();
    writes = new Writes(new Serializable(dataSource, metrics), metrics);
  });
  afterAll(async () => {
    await writes.onApplicationShutdown();
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
    async (tx: Tx): Promise<number> => {
      await tx.query('INSERT INTO cells VALUES ($1, 0)', [id]);
      return id;
    };
  const submit = <T>(run: UseCase<T>): Promise<Outcome<T>> => writes.submit(SYSTEM_REQUEST, { run });
  const valueOf = (o: Outcome): unknown => ('refusal' in o ? o.refusal.code : o.value);

  it('commits the units that queued behind a transaction in one more transaction, refusing one alone', async () => {
    const before = await groups();
    const first = submit(insert(1));
    const queued = [
      submit(insert(2)),
      submit(async (tx) => {
        await insert(3)(tx);
        throw new LedgerError('INSUFFICIENT_FUNDS', 'refused after writing: its row must not stay');
      }),
      submit(insert(4)),
    ];
    const outcomes = await Promise.all([first, ...queued]);
    expect(outcomes.map(valueOf)).toEqual([1, 2, 'INSUFFICIENT_FUNDS', 4]);
    expect(await ids()).toEqual([1, 2, 4]);
    expect((await groups()) - before).toBe(2);
  });

  it('fails a unit that breaks for another reason alone, and commits its neighbours without it', async () => {
    const outcomes = await Promise.allSettled([
      submit(insert(1)),
      submit(insert(2)),
      submit(async (tx) => {
        await tx.query('INSERT INTO cells VALUES (3, -1)'); // violates the CHECK: not a ledger refusal
      }),
      submit(insert(4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await ids()).toEqual([1, 2, 4]);
  });

  it('hands bulk units to their use case together, decides each, and writes the accepted ones at once', async () => {
    const reads: number[][] = [];
    const bulk: BulkUseCase<number, { accepted: number[] }> = {
      read: (_tx, inputs) => {
        reads.push([...inputs]);
        return Promise.resolve({ accepted: [] });
      },
      decide: (state, input) => {
        if (input === 13) throw new LedgerError('SAME_ACCOUNT', 'no');
        state.accepted.push(input);
        return input;
      },
      write: (tx, state, _keys, final) => {
        if (final) tx.write('INSERT INTO cells SELECT unnest($1::int[]), 0', [state.accepted]);
      },
      events: () => [],
    };
    const blocker = submit(insert(100));
    const results = await Promise.all(
      [11, 12, 13].map((i) => writes.submit(SYSTEM_REQUEST, { bulk: bulk, input: i, weight: 1 })),
    );
    await blocker;
    expect(reads).toEqual([[11, 12, 13]]);
    expect(results.map(valueOf)).toEqual([11, 12, 'SAME_ACCOUNT']);
    expect(await ids()).toEqual([11, 12, 100]);
  });

  it("starts the next group's transaction before the previous group's callers resume", async () => {
    const events: string[] = [];
    const first = submit(insert(1)).then(() => events.push('first group answered'));
    const second = submit(async (tx) => {
      events.push('second group started');
      return insert(2)(tx);
    });
    await Promise.all([first, second]);
    expect(events).toEqual(['second group started', 'first group answered']);
    expect(await ids()).toEqual([1, 2]);
  });
});
