import { randomUUID } from 'node:crypto';
import { connect, createDatabase } from './support/database.js';
import { ledgerViolations } from './support/invariants.js';
import { freePort, spawnService, TEST_CHECKPOINT_KEY, waitReady } from './support/process.js';

const ADMIN = { username: 'drain-admin', password: 'drain-admin-password' };

async function call(url: string, path: string, token: string | undefined, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('graceful shutdown under load', () => {
  it('answers or rolls back every started transfer on SIGTERM, and the next start sees consistent data', async () => {
    const databaseUrl = await createDatabase();
    const env = {
      DATABASE_URL: databaseUrl,
      JWT_SECRET: 'drain-secret-that-is-long-enough-32bytes',
      CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    const first = spawnService(env);
    await waitReady(first.url, 30_000);
    const admin = (await call(first.url, '/v1/auth/token', undefined, ADMIN)).body.accessToken;
    await call(first.url, '/v1/users', admin, {
      username: 'drain-op',
      password: 'drain-operator-pw',
      roles: ['operator'],
    });
    const op = (
      await call(first.url, '/v1/auth/token', undefined, { username: 'drain-op', password: 'drain-operator-pw' })
    ).body.accessToken;
    const source = (
      await call(first.url, '/v1/accounts', op, { currency: 'USD', normalBalance: 'debit', allowNegative: true })
    ).body;
    const sinks = await Promise.all(
      Array.from(
        { length: 8 },
        async () => (await call(first.url, '/v1/accounts', op, { currency: 'USD', normalBalance: 'credit' })).body,
      ),
    );

    const attempts = Array.from({ length: 300 }, (_, i) => ({
      externalId: `drain-${randomUUID()}`,
      sink: sinks[i % 8].id,
    }));
    const outcomes = attempts.map(async (a, i) => {
      await new Promise((r) => setTimeout(r, i)); // a stream of requests, spread over the shutdown
      try {
        const res = await call(first.url, '/v1/transfers', op, {
          debitAccountId: source.id,
          creditAccountId: a.sink,
          amount: '1',
          currency: 'USD',
          externalId: a.externalId,
        });
        return { ...a, status: res.status, id: res.body.id as string | undefined };
      } catch {
        return { ...a, status: 0, id: undefined }; // refused connection or reset: outcome unknown to the caller
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    first.child.kill('SIGTERM');
    const results = await Promise.all(outcomes);
    expect(await first.exited).toBe(0);

    const acknowledged = results.filter((r) => r.status === 201);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(results.every((r) => [201, 503, 0].includes(r.status))).toBe(true);

    const second = spawnService({ ...env, PORT: String(await freePort()) });
    await waitReady(second.url, 30_000);
    try {
      expect(await ledgerViolations(databaseUrl)).toEqual([]);
      const db = await connect(databaseUrl);
      const rows = (await db.query(`SELECT id, external_id FROM transfers WHERE external_id LIKE 'drain-%'`)).rows;
      await db.end();
      const stored = new Map(rows.map((r) => [r.external_id as string, r.id as string]));
      for (const a of acknowledged) expect(stored.get(a.externalId)).toBe(a.id);
      const attempted = new Set(attempts.map((a) => a.externalId));
      expect([...stored.keys()].every((e) => attempted.has(e))).toBe(true);
      // Only requests whose caller saw no answer may have committed without an acknowledgement.
      const unacknowledgedStored = [...stored.keys()].filter((e) => !acknowledged.some((a) => a.externalId === e));
      const unknown = new Set(results.filter((r) => r.status === 0).map((r) => r.externalId));
      expect(unacknowledgedStored.every((e) => unknown.has(e))).toBe(true);
      console.log(
        `shutdown under load: ${acknowledged.length} acknowledged, ${results.filter((r) => r.status === 503).length} refused with 503 while closing, ${unknown.size} unanswered (connection closed), ${unacknowledgedStored.length} of those committed`,
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
