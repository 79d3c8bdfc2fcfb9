import { createHash, randomUUID } from 'node:crypto';
import { startTestApp, TEST_CHECKPOINT_KEY, type TestApp } from './support/app.js';
import { type ActorShown, actorOf, adminToken, login, SYSTEM_ACTOR, userWith } from './support/auth.js';
import { connect, createDatabase } from './support/database.js';
import { createAccount } from './support/ledger.js';
import { freePort, spawnService, waitReady } from './support/process.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * RFC 8785 canonical JSON, written here from the RFC and independently of the service's library, for values
 * made of strings, integers, booleans, null, arrays and objects (what the log holds): members sorted by their
 * names' UTF-16 code units, no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does.
 */
function jcs(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  const members = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${jcs(v)}`).join(',')}}`;
}

/** What an auditor does with the API's JSON alone: recompute every link and hash of the chain. */
function recompute(records: any[]): { seq: string; problem: string }[] {
  const problems: { seq: string; problem: string }[] = [];
  let prev = '0'.repeat(64);
  records.forEach((r, i) => {
    if (r.seq !== String(i + 1)) problems.push({ seq: r.seq, problem: `seq ${r.seq} where ${i + 1} was due` });
    if (r.prevHash !== prev) problems.push({ seq: r.seq, problem: 'prevHash' });
    const { prevHash, hash, ...body } = r;
    const expected = createHash('sha256')
      .update(`${prevHash}\n${jcs(body)}`)
      .digest('hex');
    if (hash !== expected) problems.push({ seq: r.seq, problem: 'hash' });
    prev = hash;
  });
  return problems;
}

// SPEC 10, the administrative log: every change that is not a ledger entry, written with the change, chained.
describe('the administrative log', () => {
  let t: TestApp;
  let admin: string;
  let adminActor: ActorShown;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t);
    adminActor = await actorOf(t, admin);
  });
  afterAll(() => t.close());

  const get = async (path: string, token = admin): Promise<any> => {
    const res = await t.request('GET', path, { token });
    expect(res.status).toBe(200);
    return res.body;
  };
  const everything = async (query = '', token = admin): Promise<any[]> => {
    const all: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(
        `/v1/audit/log?limit=500${query}${cursor === null ? '' : `&cursor=${cursor}`}`,
        token,
      );
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return all;
  };
  const of = (resourceId: string): Promise<any[]> => everything(`&resourceId=${encodeURIComponent(resourceId)}`);
  /** Login records, read until they count `attempts` attempts in all; SPEC 10 gives them 5 seconds. */
  const recorded = async (read: () => Promise<any[]>, attempts: number): Promise<any[]> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const records = await read();
      const counted = records.reduce((n, r) => n + r.after.attempts, 0);
      if (counted >= attempts || Date.now() > deadline) return records;
      await sleep(100);
    }
  };

  it('records the bootstrap admin as made by the system, first in the chain', async () => {
    const [first] = (await get('/v1/audit/log?limit=1')).data;
    expect(first).toMatchObject({
      seq: '1',
      action: 'user.created',
      resourceType: 'user',
      resourceId: adminActor.id,
      actor: SYSTEM_ACTOR,
      ledgerId: null,
      before: null,
      prevHash: '0'.repeat(64),
    });
    expect(first.after).toEqual(await get(`/v1/users/${adminActor.id}`));
  });

  it('records each change to a user once, as GET showed it before and after, never the password', async () => {
    const password = `first-${randomUUID()}`;
    const created = await t.request('POST', '/v1/users', {
      token: admin,
      body: { username: `logged-${randomUUID().slice(0, 8)}`, password, roles: ['operator'] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const shown = [await get(`/v1/users/${id}`)];
    for (const change of [
      { roles: ['operator', 'auditor'] },
      { disabled: true },
      { password: `second-${randomUUID()}` },
    ]) {
      expect((await t.request('PATCH', `/v1/users/${id}`, { token: admin, body: change })).status).toBe(200);
      shown.push(await get(`/v1/users/${id}`));
    }
    expect(shown[3].passwordChangedAt).toEqual(expect.any(String));
    expect(shown[2].passwordChangedAt).toBeNull();

    const records = await of(id);
    expect(records.map((r) => [r.action, r.resourceType, r.actor, r.ledgerId])).toEqual([
      ['user.created', 'user', adminActor, null],
      ['user.updated', 'user', adminActor, null],
      ['user.updated', 'user', adminActor, null],
      ['user.updated', 'user', adminActor, null],
    ]);
    expect(records.map((r) => [r.before, r.after])).toEqual([
      [null, shown[0]],
      [shown[0], shown[1]],
      [shown[1], shown[2]],
      [shown[2], shown[3]],
    ]);
    expect(JSON.stringify(records)).not.toMatch(/first-|second-|argon2/);
    // Every record carries the request it came from.
    expect(records[0].requestId).toBe(created.headers['x-request-id']);
  });

  it('records API keys created and revoked, and never the key', async () => {
    const made = await t.request('POST', '/v1/api-keys', {
      token: admin,
      body: { name: 'logged-key', roles: ['auditor'] },
    });
    expect(made.status).toBe(201);
    const shown = await get(`/v1/api-keys/${made.body.id}`);
    expect((await t.request('DELETE', `/v1/api-keys/${made.body.id}`, { token: admin })).status).toBe(204);
    const records = await of(made.body.id);
    expect(records.map((r) => [r.action, r.before, r.after])).toEqual([
      ['apiKey.created', null, shown],
      ['apiKey.revoked', shown, null],
    ]);
    expect(JSON.stringify(records)).not.toContain(made.body.key.slice(4));
  });

  it('records ledgers and accounts in their ledger, once per change, and neither replays nor refusals', async () => {
    const name = `logged-${randomUUID().slice(0, 8)}`;
    const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name } })).body;
    const taken = await t.request('POST', '/v1/ledgers', { token: admin, body: { name } });
    expect(taken.status).toBe(409);
    const patched = await t.request('PATCH', `/v1/ledgers/${ledger.id}`, {
      token: admin,
      body: { description: 'books' },
    });
    expect(
      (await of(ledger.id)).filter((r) => r.resourceType === 'ledger').map((r) => [r.action, r.before, r.after]),
    ).toEqual([
      ['ledger.created', null, ledger],
      ['ledger.updated', ledger, patched.body],
    ]);

    const operator = await userWith(t, ['operator']);
    const operatorActor = await actorOf(t, operator.token);
    const key = { 'idempotency-key': randomUUID() };
    const body = { currency: 'USD', normalBalance: 'credit', ledgerId: name, metadata: { tier: 'gold' } };
    const account = await t.request('POST', '/v1/accounts', { token: operator.token, body, headers: key });
    const replay = await t.request('POST', '/v1/accounts', { token: operator.token, body, headers: key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const frozen = await t.request('PATCH', `/v1/accounts/${account.body.id}`, {
      token: admin,
      body: { status: 'frozen', name: 'on hold' },
    });
    expect(frozen.status).toBe(200);
    const records = await of(account.body.id);
    expect(records.map((r) => [r.action, r.actor, r.ledgerId, r.before, r.after])).toEqual([
      ['account.created', operatorActor, ledger.id, null, account.body],
      ['account.updated', adminActor, ledger.id, account.body, frozen.body],
    ]);
    expect(await everything(`&ledgerId=${name}`)).toEqual([...(await of(ledger.id)), ...records]);
  });

  it('records refused logins and rate-limit refusals within 5 seconds, counted, without the password', async () => {
    const username = `nobody-${randomUUID().slice(0, 8)}`;
    const password = `guess-${randomUUID()}`;
    const limit = t.config.loginRateLimit;
    const answers: number[] = [];
    for (let i = 0; i < limit + 2; i++) {
      answers.push((await t.request('POST', '/v1/auth/token', { body: { username, password } })).status);
    }
    expect(answers).toEqual([...Array<number>(limit).fill(401), 429, 429]);
    const records = await recorded(() => of(username), limit + 2);
    expect(records.map((r) => [r.action, r.resourceType, r.actor, r.ledgerId, r.before])).toEqual([
      ['login.refused', 'login', SYSTEM_ACTOR, null, null],
      ['login.rateLimited', 'login', SYSTEM_ACTOR, null, null],
    ]);
    expect(records.map((r) => [r.after.username, r.after.attempts])).toEqual([
      [username, limit],
      [username, 2],
    ]);
    expect(records[0].after.address).toEqual(expect.any(String));
    expect(JSON.stringify(records)).not.toContain(password);
    // A successful login is no change: nothing is recorded for it.
    const before = (await everything()).length;
    await login(t, 'root-admin', 'admin-password-123');
    await sleep(1500);
    expect((await everything()).length).toBe(before);
  });

  it('filters by actor, action, resource type and time, and pages without skipping', async () => {
    const all = await everything();
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => String(i + 1)));
    const paged: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(`/v1/audit/log?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`);
      paged.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all);
    expect(await everything(`&actorId=${SYSTEM_ACTOR.id}`)).toEqual(all.filter((r) => r.actor.id === 'system'));
    expect(await everything('&action=user.updated')).toEqual(all.filter((r) => r.action === 'user.updated'));
    expect(await everything('&resourceType=apiKey')).toEqual(all.filter((r) => r.resourceType === 'apiKey'));
    const middle = all[Math.floor(all.length / 2)];
    expect(await everything(`&from=${middle.at}`)).toEqual(all.filter((r) => r.at >= middle.at));
    expect(await everything(`&to=${middle.at}`)).toEqual(all.filter((r) => r.at < middle.at));
    expect((await t.request('GET', '/v1/audit/log?action=user.exploded', { token: admin })).status).toBe(400);
    expect((await t.request('GET', '/v1/audit/log?resourceType=transfer', { token: admin })).status).toBe(400);
    expect(await everything('&ledgerId=no-such-ledger')).toEqual([]);
  });

  it('shows a caller limited to ledgers the records of its ledgers only', async () => {
    const mine = (
      await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `own-${randomUUID().slice(0, 8)}` } })
    ).body;
    const auditor = await t.request('POST', '/v1/users', {
      token: admin,
      body: {
        username: `scoped-${randomUUID().slice(0, 8)}`,
        password: 'a-long-enough-password',
        roles: ['auditor'],
        ledgers: [mine.id],
      },
    });
    const token = await login(t, auditor.body.username, 'a-long-enough-password');
    const operator = await userWith(t, ['operator']);
    await createAccount(t, operator.token, { ledgerId: mine.id });
    const seen = await everything('', token);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen.map((r) => r.ledgerId))).toEqual(new Set([mine.id]));
    expect(await everything('&resourceType=user', token)).toEqual([]);
    const verify = await get('/v1/audit/verify', token);
    expect(verify).toMatchObject({ ok: true, checkedLogRecords: seen.length });
  });

  it('is recomputed whole by an auditor from the API alone, and verify agrees', async () => {
    const all = await everything();
    expect(all.length).toBeGreaterThan(10);
    expect(recompute(all)).toEqual([]);
    const verify = await get('/v1/audit/verify');
    expect(verify).toMatchObject({ ok: true, problems: [], checkedLogRecords: all.length });
  });

  it('refuses changes in the database itself: no update, delete, truncate or record off the chain', async () => {
    const db = await connect(t.databaseUrl);
    try {
      await expect(db.query(`UPDATE admin_log SET action = 'user.deleted' WHERE seq = 2`)).rejects.toThrow(
        /append-only/,
      );
      await expect(db.query(`DELETE FROM admin_log WHERE seq = 2`)).rejects.toThrow(/append-only/);
      await expect(db.query(`TRUNCATE admin_log`)).rejects.toThrow(/append-only/);
      const { rows } = await db.query(`SELECT max(seq) AS last FROM admin_log`);
      const forged = (seq: string, prev: string) =>
        db.query(
          `INSERT INTO admin_log (seq, id, at, actor, action, resource_type, resource_id, request_id, prev_hash, hash)
           VALUES ($1, gen_random_uuid(), now(), '{}', 'user.created', 'user', 'x', 'r', $2, repeat('a', 64))`,
          [seq, prev],
        );
      await expect(forged(String(Number(rows[0].last) + 2), 'a'.repeat(64))).rejects.toThrow(/does not continue/);
      await expect(forged(String(Number(rows[0].last) + 1), 'b'.repeat(64))).rejects.toThrow(/does not continue/);
    } finally {
      await db.end();
    }
  });

  // After every test that logs in: it exhausts the rate limit of the suite's one client address.
  it('counts a login flood in a few records a second, never a transaction per attempt', async () => {
    const before = (await everything()).length;
    const flood = 1500;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: flood }, (_, i) =>
        t.request('POST', '/v1/auth/token', { body: { username: `flood-${i}`, password: 'not-the-password' } }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(answers.filter((a) => a.status === 401 || a.status === 429)).toHaveLength(flood);
    const fresh = async (): Promise<any[]> => (await everything()).slice(before);
    const records = await recorded(fresh, flood);
    // Every attempt counted; one record per username and address until a second holds 1000, then one for the rest.
    expect(records.reduce((n, r) => n + r.after.attempts, 0)).toBe(flood);
    expect(records.every((r) => r.action === 'login.refused' || r.action === 'login.rateLimited')).toBe(true);
    const writes = new Set(records.map((r) => r.at)).size;
    const overflow = records.filter((r) => r.resourceId === '*');
    console.log(
      `login flood: ${flood} refusals in ${seconds.toFixed(1)} s, logged as ${records.length} records in ${writes} ` +
        `transactions (${overflow.length} overflow records)`,
    );
    expect(writes).toBeLessThanOrEqual(Math.ceil(seconds) + 6);
    expect(records.length).toBeLessThanOrEqual(writes * 1002);
    expect(recompute(await everything())).toEqual([]);
  });

  // Last: it breaks the chain of this suite's database.
  it('names a record altered or removed behind its back (superuser, triggers off)', async () => {
    const all = await everything();
    const altered = all.find((r) => r.action === 'user.updated');
    const removed = all.find((r) => r.action === 'apiKey.created');
    expect(Number(removed.seq)).toBeGreaterThan(Number(altered.seq) + 1);
    const db = await connect(t.databaseUrl);
    try {
      await db.query(`SET session_replication_role = replica`);
      await db.query(`UPDATE admin_log SET after = jsonb_set(after, '{roles}', '["admin"]') WHERE seq = $1`, [
        altered.seq,
      ]);
      await db.query(`DELETE FROM admin_log WHERE seq = $1`, [removed.seq]);
    } finally {
      await db.end();
    }
    const verify = await get('/v1/audit/verify');
    expect(verify.ok).toBe(false);
    expect(verify.problems).toEqual([
      { code: 'LOG_HASH_MISMATCH', logSeq: altered.seq, detail: expect.any(String) },
      { code: 'LOG_GAP', logSeq: removed.seq, detail: expect.any(String) },
    ]);
    // The auditor's own recomputation sees both too.
    const problems = recompute(await everything());
    expect(problems).toContainEqual({ seq: altered.seq, problem: 'hash' });
    expect(problems.some((p) => p.problem.startsWith(`seq ${Number(removed.seq) + 1} `))).toBe(true);
  });
});

// The service as it runs, logging at debug: no password, key or hash of either in a log line or a log record.
describe('secrets in the logs', () => {
  it('appear in no log line of the running service and in no administrative log record', async () => {
    const env = {
      DATABASE_URL: await createDatabase(),
      PORT: String(await freePort()),
      JWT_SECRET: 'process-secret-that-is-at-least-32-bytes-long',
      CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
      ADMIN_USERNAME: 'boss',
      ADMIN_PASSWORD: `boss-${randomUUID()}`,
      LOG_LEVEL: 'debug',
    };
    const svc = spawnService(env);
    try {
      await waitReady(svc.url, 30_000);
      const call = async (method: string, path: string, body?: unknown, token?: string): Promise<any> => {
        const res = await fetch(`${svc.url}${path}`, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: res.status === 204 ? null : await res.json() };
      };
      const secrets = [env.ADMIN_PASSWORD, `first-${randomUUID()}`, `second-${randomUUID()}`, `wrong-${randomUUID()}`];
      const admin = (await call('POST', '/v1/auth/token', { username: 'boss', password: env.ADMIN_PASSWORD })).body
        .accessToken;
      const user = await call(
        'POST',
        '/v1/users',
        { username: 'svc-user', password: secrets[1], roles: ['operator'] },
        admin,
      );
      expect(user.status).toBe(201);
      expect((await call('PATCH', `/v1/users/${user.body.id}`, { password: secrets[2] }, admin)).status).toBe(200);
      expect((await call('POST', '/v1/auth/token', { username: 'svc-user', password: secrets[3] })).status).toBe(401);
      const key = await call('POST', '/v1/api-keys', { name: 'svc', roles: ['operator'] }, admin);
      expect(key.status).toBe(201);
      secrets.push(key.body.key, key.body.key.slice(4), admin);
      expect((await call('GET', '/v1/auth/me', undefined, key.body.key)).status).toBe(200);
      expect((await call('DELETE', `/v1/api-keys/${key.body.id}`, undefined, admin)).status).toBe(204);
      await sleep(1500);
      const records = JSON.stringify((await call('GET', '/v1/audit/log?limit=500', undefined, admin)).body);
      expect(records).toContain('login.refused');
      expect(records).toContain('apiKey.revoked');
      const db = await connect(env.DATABASE_URL);
      const hashes = (await db.query(`SELECT password_hash AS h FROM users UNION ALL SELECT key_hash FROM api_keys`))
        .rows;
      await db.end();
      const output = svc.output();
      // The lines are there (the check is not vacuous): the requests were logged, with their paths.
      expect(output).toContain('/v1/api-keys');
      for (const secret of [...secrets, ...hashes.map((r) => r.h as string)]) {
        expect({ secret, inLogLines: output.includes(secret), inRecords: records.includes(secret) }).toEqual({
          secret,
          inLogLines: false,
          inRecords: false,
        });
      }
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
  });
});
