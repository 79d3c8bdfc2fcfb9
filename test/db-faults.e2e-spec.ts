import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { freePort, type ServiceProcess, spawnService, TEST_CHECKPOINT_KEY, waitReady } from './support/process.js';

const ADMIN = { username: 'faults-admin', password: 'faults-admin-password' };

async function call(url: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const started = Date.now();
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : JSON.parse(text),
    ms: Date.now() - started,
    headers: res.headers,
  };
}

describe('database faults', () => {
  let pg: PrivatePostgres;
  let svc: ServiceProcess;
  let token: string;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    svc = spawnService({
      DATABASE_URL: pg.url,
      JWT_SECRET: 'db-faults-secret-that-is-long-enough-32',
      CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    await waitReady(svc.url, 30_000);
    token = (await call(svc.url, '/v1/auth/token', { method: 'POST', body: ADMIN })).body.accessToken;
  });
  afterAll(async () => {
    svc.child.kill('SIGTERM');
    await svc.exited;
    await pg.destroy();
  });

  it('answers 503 fast while PostgreSQL is down, and recovers by itself when it is back', async () => {
    const account = { currency: 'USD', normalBalance: 'credit' };
    expect((await call(svc.url, '/v1/accounts', { method: 'POST', token, body: account })).status).toBe(201);

    await pg.stop();
    const ready = await call(svc.url, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.code).toBe('SERVICE_UNAVAILABLE');
    expect((await call(svc.url, '/health/live')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const write = await call(svc.url, '/v1/accounts', { method: 'POST', token, body: account });
      expect(write.status).toBe(503);
      expect(write.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(write.headers.get('retry-after')).toBe('1');
      expect(write.ms).toBeLessThan(2000);
    }
    const read = await call(svc.url, '/v1/accounts', { token });
    expect(read.status).toBe(503);
    expect(read.ms).toBeLessThan(2000);

    await pg.start();
    const recovered = await waitReady(svc.url, 20_000);
    expect(recovered).toBeLessThan(20_000);
    const after = await call(svc.url, '/v1/accounts', { method: 'POST', token, body: account });
    expect(after.status).toBe(201);
    expect(svc.child.exitCode).toBeNull(); // the same process throughout: no restart
  });
});
