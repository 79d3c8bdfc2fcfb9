import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { runMigrations } from '../src/database/migrations.js';
import { DEFAULT_LEDGER_ID } from '../migrations/1765100000000-ledgers.js';
import { leafHash, RightEdge } from '../src/core/merkle.js';
import { startTestApp } from './support/app.js';
import { adminToken } from './support/auth.js';
import { createDatabase } from './support/database.js';

/** Like `typeorm migration:generate`: what the entities would still change after every migration ran. */
describe('migrations', () => {
  let dataSource: DataSource;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await createDatabase();
    dataSource = new DataSource(
      dataSourceOptions(databaseUrl, { poolSize: 2, statementTimeoutMs: 60_000, applicationName: 'test' }),
    );
    await dataSource.initialize();
  });
  afterAll(() => dataSource.destroy());

  /** Reverts the latest migrations down to and including `name`; resolves to how many were reverted. */
  async function revertThrough(name: string): Promise<number> {
    const applied = async (): Promise<string[]> =>
      (await dataSource.query<{ name: string }[]>(`SELECT name FROM schema_migrations ORDER BY id`)).map((r) => r.name);
    expect(await applied()).toContain(name);
    let undone = 0;
    while ((await applied()).includes(name)) {
      await dataSource.undoLastMigration();
      undone++;
    }
    return undone;
  }

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

  it('reverts the latest migrations back past the reference checks and applies them again, ending where it started', async () => {
    const foreignKeys = (): Promise<{ n: number }[]> =>
      dataSource.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f'`);
    // 1764800000000 replaces the five foreign keys with reference-check triggers.
    expect(await foreignKeys()).toEqual([{ n: 0 }]);
    const undone = await revertThrough('ReferenceChecks1764800000000');
    expect(await foreignKeys()).toEqual([{ n: 5 }]);
    expect((await runMigrations(dataSource)).length).toBe(undone);
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
    const undone = await revertThrough('IdempotencyRefusals1765000000000');
    await dataSource.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) VALUES
         ($1, 'ok', 'h1', 201, $2), ($1, 'refused', 'h2', 422, $3), ($1, 'missing', 'h3', 404, $4)`,
      [user, JSON.stringify(created), JSON.stringify(refusal), JSON.stringify(notFound)],
    );
    expect((await runMigrations(dataSource)).length).toBe(undone);
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

    expect(await revertThrough('IdempotencyRefusals1765000000000')).toBe(undone);
    const back = await dataSource.query<{ key: string; status: number; response: unknown }[]>(
      `SELECT key, status, response FROM idempotency_keys WHERE user_id = $1 ORDER BY key`,
      [user],
    );
    expect(back).toEqual([
      { key: 'missing', status: 404, response: notFound },
      { key: 'ok', status: 201, response: created },
      { key: 'refused', status: 422, response: refusal },
    ]);
    expect((await runMigrations(dataSource)).length).toBe(undone);
    await dataSource.query(`DELETE FROM idempotency_keys WHERE user_id = $1`, [user]);
  });

  it('puts every account, transfer and entry made before ledgers into `default`, chains untouched', async () => {
    const undone = await revertThrough('Ledgers1765100000000');
    const [a, b, tr] = [randomUUID(), randomUUID(), randomUUID()];
    await dataSource.query(
      `INSERT INTO accounts (id, currency, normal_balance, allow_negative, external_id) VALUES
         ($1, 'USD', 'debit', true, 'old-a'), ($2, 'USD', 'credit', false, 'old-b')`,
      [a, b],
    );
    await dataSource.query(
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, status, posted_amount,
         external_id, created_at, posted_at) VALUES ($1, $2, $3, 5, 'USD', 'posted', 5, 'old-t', now(), now())`,
      [tr, a, b],
    );
    await dataSource.query(
      `INSERT INTO ledger_entries (id, transfer_id, account_id, currency, direction, amount, account_version,
         balance_after, debits_after, credits_after, created_at, prev_hash, hash)
       VALUES (gen_random_uuid(), $1, $2, 'USD', 'debit', 5, 1, 5, 5, 0, now(), 'p1', 'h1'),
              (gen_random_uuid(), $1, $3, 'USD', 'credit', 5, 1, 5, 0, 5, now(), 'p2', 'h2')`,
      [tr, a, b],
    );
    const entriesBefore = await dataSource.query(
      `SELECT id, prev_hash, hash FROM ledger_entries WHERE transfer_id = $1 ORDER BY id`,
      [tr],
    );
    expect((await runMigrations(dataSource)).length).toBe(undone);
    const ledgers = await dataSource.query<{ ledger_id: string }[]>(
      `SELECT ledger_id FROM accounts WHERE id = ANY($1) UNION ALL SELECT ledger_id FROM transfers WHERE id = $2
       UNION ALL SELECT ledger_id FROM ledger_entries WHERE transfer_id = $2`,
      [[a, b], tr],
    );
    expect(ledgers.map((r) => r.ledger_id)).toEqual(Array(5).fill(DEFAULT_LEDGER_ID));
    expect(await dataSource.query(`SELECT name FROM ledgers WHERE id = $1`, [DEFAULT_LEDGER_ID])).toEqual([
      { name: 'default' },
    ]);
    expect(
      await dataSource.query(`SELECT id, prev_hash, hash FROM ledger_entries WHERE transfer_id = $1 ORDER BY id`, [tr]),
    ).toEqual(entriesBefore);
    // New rows name their ledger: the column keeps no default.
    await expect(
      dataSource.query(
        `INSERT INTO accounts (id, currency, normal_balance) VALUES (gen_random_uuid(), 'USD', 'debit')`,
      ),
    ).rejects.toThrow(/ledger_id/);
  });

  it('limits no user that existed before ledger scoping, and refuses an empty limit', async () => {
    const undone = await revertThrough('UserLedgers1765200000000');
    const id = randomUUID();
    await dataSource.query(
      `INSERT INTO users (id, username, username_key, password_hash, roles) VALUES ($1, 'old', 'old', 'x', '{operator}')`,
      [id],
    );
    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(await dataSource.query(`SELECT ledgers FROM users WHERE id = $1`, [id])).toEqual([{ ledgers: null }]);
    await expect(dataSource.query(`UPDATE users SET ledgers = '{}' WHERE id = $1`, [id])).rejects.toThrow(
      /users_ledgers_check/,
    );
    await dataSource.query(`DELETE FROM users WHERE id = $1`, [id]);
  });

  it('keeps accounts and users made before actors and the log as they were, with no actor and an empty log', async () => {
    const undone = await revertThrough('Actors1765700000000');
    const [account, user] = [randomUUID(), randomUUID()];
    await dataSource.query(
      `INSERT INTO accounts (id, ledger_id, currency, normal_balance) VALUES ($1, $2, 'USD', 'credit')`,
      [account, DEFAULT_LEDGER_ID],
    );
    await dataSource.query(
      `INSERT INTO users (id, username, username_key, password_hash, roles) VALUES ($1, 'older', 'older', 'x', '{auditor}')`,
      [user],
    );
    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(await dataSource.query(`SELECT created_by FROM accounts WHERE id = $1`, [account])).toEqual([
      { created_by: null },
    ]);
    expect(await dataSource.query(`SELECT password_changed_at FROM users WHERE id = $1`, [user])).toEqual([
      { password_changed_at: null },
    ]);
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM admin_log`)).toEqual([{ n: 0 }]);
    await dataSource.query(`DELETE FROM users WHERE id = $1`, [user]);
  });

  /** Every unique index on the ledger tables: its name, whether it is the primary key, and its key columns in order. */
  async function uniqueKeys(): Promise<{ table: string; name: string; primary: boolean; columns: string[] }[]> {
    const rows = await dataSource.query<{ table: string; name: string; primary: boolean; columns: string[] }[]>(
      `SELECT t.relname AS table, c.relname AS name, i.indisprimary AS primary,
              ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k)
                AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
       WHERE i.indisunique AND t.relname IN ('accounts', 'transfers', 'ledger_entries')
       ORDER BY t.relname, c.relname`,
    );
    return rows;
  }

  /** The key columns of a named index, in order. */
  async function indexColumns(name: string): Promise<string[] | undefined> {
    const [row] = await dataSource.query<{ columns: string[] }[]>(
      `SELECT ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k)
                AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
      [name],
    );
    return row?.columns;
  }

  // Each ledger's rows on index pages of their own (SPEC 9, independent writers): every unique key starts with the
  // ledger, but for those of rows found by id alone (the primary keys, and ledger_entries' id, its primary key
  // being seq) and the global seq keys.
  it('builds the Merkle trees over the entries made before them, at the first start after the migration', async () => {
    const undone = await revertThrough('MerkleTree1766200000000');
    const old = await dataSource.query<{ hash: string }[]>(
      `SELECT hash FROM ledger_entries WHERE ledger_id = $1 ORDER BY seq`,
      [DEFAULT_LEDGER_ID],
    );
    expect(old.length).toBeGreaterThan(0);
    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(await dataSource.query(`SELECT last_seq FROM merkle_progress`)).toEqual([{ last_seq: '0' }]);
    const app = await startTestApp({ TREE_INTERVAL_MS: '100' }, databaseUrl);
    try {
      const cp = await app.request('POST', '/v1/audit/checkpoints', { token: await adminToken(app), body: {} });
      expect(cp.status).toBe(201);
      const edge = RightEdge.empty();
      for (const e of old) edge.append(leafHash(Buffer.from(e.hash, 'hex')));
      expect(cp.body).toMatchObject({ treeSize: old.length, rootHash: edge.root().toString('hex') });
    } finally {
      await app.close();
    }
  });

  it('leaves accounts made before types without one: unclassified', async () => {
    const rows = await dataSource.query<{ type: string | null }[]>(
      `SELECT type FROM accounts WHERE external_id IN ('old-a', 'old-b')`,
    );
    expect(rows).toEqual([{ type: null }, { type: null }]);
  });

  it('dates every entry made before effective dates when it was recorded: balances and entries read as before', async () => {
    const undone = await revertThrough('EffectiveDates1766500000000');
    const [a] = await dataSource.query<{ id: string }[]>(`SELECT id FROM accounts WHERE external_id = 'old-a'`);
    const before = await dataSource.query(
      `SELECT id, created_at, hash FROM ledger_entries WHERE account_id = $1 ORDER BY account_version`,
      [a!.id],
    );
    expect(before.length).toBeGreaterThan(0);
    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(
      await dataSource.query(
        `SELECT id, created_at, hash FROM ledger_entries WHERE account_id = $1 ORDER BY account_version`,
        [a!.id],
      ),
    ).toEqual(before);
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM backdated_totals`)).toEqual([{ n: 0 }]);
    const app = await startTestApp({ TREE_INTERVAL_MS: '600000' }, databaseUrl);
    try {
      const token = await adminToken(app);
      const entries = (await app.request('GET', `/v1/accounts/${a!.id}/entries`, { token })).body.data;
      expect(entries.map((e: any) => e.effectiveAt)).toEqual(entries.map((e: any) => e.createdAt));
      const balance = await app.request('GET', `/v1/accounts/${a!.id}/balance`, { token });
      expect(balance.body).toMatchObject({ debitsPosted: '5', creditsPosted: '0', version: 1 });
      const at = entries[0].createdAt;
      const asOf = await app.request('GET', `/v1/accounts/${a!.id}/balance?asOf=${at}&knownAt=${at}`, { token });
      expect(asOf.body).toMatchObject({ debitsPosted: '5', version: 1 });
    } finally {
      await app.close();
    }
  });

  it('marks the accounts monitors made before watch, and they fire as before', async () => {
    const undone = await revertThrough('MonitoredAccounts1766900000000');
    const [a] = await dataSource.query<{ id: string; ledger_id: string }[]>(
      `SELECT id, ledger_id FROM accounts WHERE external_id = 'old-a'`,
    );
    // debits_posted is 5 on this debit-normal account; the monitor turns true when it passes 7.
    await dataSource.query(
      `INSERT INTO balance_monitors (id, account_id, ledger_id, balance, op, amount)
       VALUES (gen_random_uuid(), $1, $2, 'posted', 'gt', 7)`,
      [a!.id, a!.ledger_id],
    );
    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(
      await dataSource.query(`SELECT external_id, monitored FROM accounts WHERE external_id IN ('old-a', 'old-b')
        ORDER BY external_id`),
    ).toEqual([
      { external_id: 'old-a', monitored: true },
      { external_id: 'old-b', monitored: false },
    ]);
    // Raising the balance inside a transaction fires it there; rolling back leaves no event.
    const fired = (q: Pick<DataSource, 'query'>): Promise<{ n: number }[]> =>
      q.query(
        `SELECT count(*)::int AS n FROM events WHERE type = 'balance.monitor.triggered' AND data->>'accountId' = $1`,
        [a!.id],
      );
    const rolledBack = new Error('roll back');
    await expect(
      dataSource.transaction(async (tx) => {
        await tx.query(`UPDATE accounts SET debits_posted = 8 WHERE id = $1`, [a!.id]);
        expect(await fired(tx)).toEqual([{ n: 1 }]);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    expect(await fired(dataSource)).toEqual([{ n: 0 }]);
  });

  it('leads every unique key of accounts, transfers and entries with ledger_id, but the id and seq keys', async () => {
    const keys = await uniqueKeys();
    const exempt = keys.filter((k) => k.primary || (k.columns.length === 1 && ['id', 'seq'].includes(k.columns[0]!)));
    expect(exempt.map((k) => `${k.table}(${k.columns.join(', ')})`).sort()).toEqual([
      'accounts(id)',
      'accounts(seq)',
      'ledger_entries(id)',
      'ledger_entries(seq)',
      'transfers(id)',
      'transfers(seq)',
    ]);
    const rest = keys.filter((k) => !exempt.includes(k));
    expect(Object.fromEntries(rest.map((k) => [k.name, k.columns]))).toEqual({
      accounts_external_id_key: ['ledger_id', 'external_id'],
      ledger_entries_account_version_key: ['ledger_id', 'account_id', 'account_version'],
      transfers_external_id_key: ['ledger_id', 'external_id'],
    });
    for (const k of rest) expect({ key: k.name, first: k.columns[0] }).toEqual({ key: k.name, first: 'ledger_id' });
    // What is looked up by externalId alone and the expiry sweep have indexes of their own; the per-ledger lists of
    // transfers and entries do not (1765600000000: they cost every write more than they gave the lists).
    expect(await indexColumns('accounts_external_id_idx')).toEqual(['external_id']);
    expect(await indexColumns('transfers_external_id_idx')).toEqual(['external_id']);
    expect(await indexColumns('transfers_pending_expiry_idx')).toEqual(['ledger_id', 'expires_at']);
    expect(await indexColumns('transfers_ledger_seq_idx')).toBeUndefined();
    expect(await indexColumns('ledger_entries_ledger_seq_idx')).toBeUndefined();
  });

  it('puts the ledger-leading keys back as they were, and again, each still refusing a duplicate in one ledger', async () => {
    const other = randomUUID();
    await dataSource.query(`INSERT INTO ledgers (id, name) VALUES ($1, 'keys-migration')`, [other]);
    const [a, b] = [randomUUID(), randomUUID()];
    await dataSource.query(
      `INSERT INTO accounts (id, ledger_id, currency, normal_balance, allow_negative, external_id) VALUES
         ($1, $3, 'USD', 'debit', true, 'keys-a'), ($2, $3, 'USD', 'credit', false, 'keys-b')`,
      [a, b, DEFAULT_LEDGER_ID],
    );
    const entries = await dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ledger_entries`);

    const undone = await revertThrough('LedgerLeadingKeys1765300000000');
    expect(await indexColumns('accounts_external_id_key')).toEqual(['external_id', 'ledger_id']);
    expect(await indexColumns('transfers_external_id_key')).toEqual(['external_id', 'ledger_id']);
    expect(await indexColumns('ledger_entries_account_version_key')).toEqual(['account_id', 'account_version']);
    expect(await indexColumns('transfers_pending_expiry_idx')).toEqual(['expires_at']);
    for (const gone of [
      'accounts_external_id_idx',
      'transfers_external_id_idx',
      'transfers_ledger_seq_idx',
      'ledger_entries_ledger_seq_idx',
    ]) {
      expect({ gone, columns: await indexColumns(gone) }).toEqual({ gone, columns: undefined });
    }

    expect((await runMigrations(dataSource)).length).toBe(undone);
    expect(await indexColumns('accounts_external_id_key')).toEqual(['ledger_id', 'external_id']);
    expect(await indexColumns('ledger_entries_account_version_key')).toEqual([
      'ledger_id',
      'account_id',
      'account_version',
    ]);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM ledger_entries`)).toEqual(entries);

    // An externalId is unique within a ledger, and only there.
    const tr = (ledger: string, debit: string, credit: string) =>
      dataSource.query(
        `INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, currency, status,
           posted_amount, external_id, created_at) VALUES (gen_random_uuid(), $1, $2, $3, 5, 'USD', 'pending', 0,
           'keys-t', now())`,
        [ledger, debit, credit],
      );
    await tr(DEFAULT_LEDGER_ID, a, b);
    await expect(tr(DEFAULT_LEDGER_ID, a, b)).rejects.toThrow(/transfers_external_id_key/);
    const [c, d] = [randomUUID(), randomUUID()];
    await dataSource.query(
      `INSERT INTO accounts (id, ledger_id, currency, normal_balance, external_id) VALUES
         ($1, $3, 'USD', 'debit', 'keys-a'), ($2, $3, 'USD', 'credit', NULL)`,
      [c, d, other],
    );
    await tr(other, c, d);
    await expect(
      dataSource.query(
        `INSERT INTO accounts (id, ledger_id, currency, normal_balance, external_id) VALUES ($1, $2, 'USD', 'debit', 'keys-a')`,
        [randomUUID(), other],
      ),
    ).rejects.toThrow(/accounts_external_id_key/);
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
