import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { ADMIN, startTestApp, TEST_JWT_SECRET, type TestApp } from './support/app.js';
import { freePort, spawnService, TEST_CHECKPOINT_KEY, waitReady } from './support/process.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A receiver on loopback that records every request and answers as told. */
interface Receiver {
  url: string;
  got: { headers: IncomingHttpHeaders; body: string; at: number }[];
  /** The status of the next answers, in order; then 204. */
  script: number[];
  /** Requests in progress, and the most there ever were at once. */
  inFlight: number;
  maxInFlight: number;
  /** How long each answer waits. */
  delayMs: number;
  /** A redirect target, answered with 302 when set. */
  redirectTo?: string;
  close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    got: [],
    script: [],
    inFlight: 0,
    maxInFlight: 0,
    delayMs: 0,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      r.inFlight++;
      r.maxInFlight = Math.max(r.maxInFlight, r.inFlight);
      r.got.push({ headers: req.headers, body, at: Date.now() });
      setTimeout(() => {
        r.inFlight--;
        if (r.redirectTo !== undefined) {
          res.writeHead(302, { location: r.redirectTo }).end();
          return;
        }
        res.writeHead(r.script.shift() ?? 204).end();
      }, r.delayMs);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const ids = (r: Receiver): string[] => r.got.map((g) => JSON.parse(g.body).data.id as string);

const QUICK = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_SECONDS: '0.05',
  WEBHOOK_RETRY_WINDOW_SECONDS: '3',
};

describe('webhooks (SPEC 13)', () => {
  let t: TestApp;
  let op: string;
  let admin: string;
  let source: any;
  let sink: any;

  beforeAll(async () => {
    t = await startTestApp(QUICK);
    ({ operator: op, admin } = await tokensByRole(t));
    const open = async (body: object) =>
      (await t.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', ...body } })).body;
    source = await open({ normalBalance: 'debit', allowNegative: true });
    sink = await open({ normalBalance: 'credit' });
  });
  afterAll(() => t.close());

  const move = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await t.request('POST', '/v1/transfers', {
        token: op,
        body: { debitAccountId: source.id, creditAccountId: sink.id, amount: '1', currency: 'USD' },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    return ids;
  };
  const subscribe = async (url: string, app = t, token = admin) => {
    const res = await app.request('POST', '/v1/webhooks', { token, body: { url, types: ['transfer.created'] } });
    expect(res.status).toBe(201);
    return res.body;
  };

  it('delivers every event after its creation, signed as Standard Webhooks says, in seq order', async () => {
    const r = await receiver();
    try {
      await move(2); // before the webhook: not delivered
      const hook = await subscribe(r.url);
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(hook.secret.slice(6), 'base64')).toHaveLength(32);
      const shown = await t.request('GET', `/v1/webhooks/${hook.id}`, { token: admin });
      expect(shown.body).not.toHaveProperty('secret');
      expect(JSON.stringify(shown.body)).not.toContain(hook.secret.slice(6));
      const moved = await move(5);
      await until('5 deliveries', () => r.got.length >= 5);
      await sleep(300);
      expect(ids(r)).toEqual(moved);
      const verifier = new Webhook(hook.secret);
      let seq = 0n;
      for (const g of r.got) {
        const event = verifier.verify(g.body, g.headers as Record<string, string>) as any;
        expect(event.type).toBe('transfer.created');
        expect(g.headers['webhook-id']).toBe(event.id);
        expect(Math.abs(Number(g.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
        expect(BigInt(event.seq) > seq).toBe(true);
        seq = BigInt(event.seq);
      }
      // A forged body does not verify.
      expect(() => verifier.verify(r.got[0]!.body.replace('"1"', '"2"'), r.got[0]!.headers as any)).toThrow();
      const deliveries = (await t.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: admin })).body.data;
      expect(deliveries.map((d: any) => d.statusCode)).toEqual([204, 204, 204, 204, 204]);
      expect(deliveries[0]).toEqual({
        id: expect.any(String),
        eventId: JSON.parse(r.got[4]!.body).id,
        eventSeq: JSON.parse(r.got[4]!.body).seq,
        attemptedAt: expect.any(String),
        statusCode: 204,
        durationMs: expect.any(Number),
        error: null,
      });
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
    }
  });

  it('retries a receiver that fails 5 times, then delivers every event once acknowledged, in order', async () => {
    const r = await receiver();
    try {
      r.script = [500, 503, 500, 404, 500];
      const hook = await subscribe(r.url);
      const moved = await move(4);
      await until('the 4 events acknowledged', () => r.got.length >= 9);
      await sleep(300);
      const received = ids(r);
      expect(received.slice(0, 6)).toEqual(Array(6).fill(moved[0]));
      expect(received.slice(5)).toEqual(moved);
      const deliveries = (await t.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: admin })).body.data;
      expect(deliveries.map((d: any) => d.statusCode).reverse()).toEqual([500, 503, 500, 404, 500, 204, 204, 204, 204]);
      expect(deliveries.at(-1).error).toBe('answered 500');
      const after = (await t.request('GET', `/v1/webhooks/${hook.id}`, { token: admin })).body;
      expect(after).toMatchObject({ disabled: false, failingSince: null });
      // Replay: everything after the first event again, in order.
      const first = JSON.parse(r.got[0]!.body).seq;
      const replay = await t.request('POST', `/v1/webhooks/${hook.id}/replay`, {
        token: admin,
        body: { after: first },
      });
      expect(replay.status).toBe(200);
      await until('the replay', () => r.got.length >= 12);
      await sleep(300);
      expect(ids(r).slice(9)).toEqual(moved.slice(1));
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
    }
  });

  it('reports how far behind a failing webhook is, and nothing once it caught up', async () => {
    const r = await receiver();
    const gauge = async (name: string, hook: string): Promise<number> => {
      const text = (await t.request('GET', '/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith(`${name}{webhook="${hook}"}`));
      if (line === undefined) throw new Error(`${name} has no line for webhook ${hook}`);
      return Number(line.split(' ').at(-1));
    };
    const failed = async (): Promise<number> =>
      Number(
        /ledger_webhook_deliveries_total\{outcome="failed"\} (\d+)/.exec(
          (await t.request('GET', '/metrics')).text,
        )?.[1] ?? 0,
      );
    try {
      r.script = Array(1000).fill(500);
      const failedBefore = await failed();
      const hook = await subscribe(r.url);
      const started = Date.now();
      await move(1);
      await sleep(400);
      await move(1);
      await until('two failed attempts', () => r.got.length >= 2);
      const behind = await gauge('ledger_webhook_lag_seconds', hook.id);
      const waited = await gauge('ledger_webhook_oldest_undelivered_seconds', hook.id);
      // The two events were written about 400 ms apart, and the first has waited since it was written.
      expect(behind).toBeGreaterThanOrEqual(0.35);
      expect(behind).toBeLessThan(2);
      expect(waited).toBeGreaterThanOrEqual(behind);
      expect(waited).toBeLessThanOrEqual((Date.now() - started) / 1000 + 0.01);
      expect((await failed()) - failedBefore).toBeGreaterThanOrEqual(2);
      r.script = [];
      await until(
        'both delivered',
        async () => (await gauge('ledger_webhook_oldest_undelivered_seconds', hook.id)) === 0,
      );
      expect(await gauge('ledger_webhook_lag_seconds', hook.id)).toBe(0);
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
    }
  });

  it('signs with both secrets for a while after a rotation', async () => {
    const r = await receiver();
    try {
      const hook = await subscribe(r.url);
      const rotated = await t.request('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: admin, body: {} });
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(hook.secret);
      await move(1);
      await until('a delivery', () => r.got.length >= 1);
      const g = r.got[0]!;
      expect(String(g.headers['webhook-signature']).split(' ')).toHaveLength(2);
      for (const secret of [hook.secret, rotated.body.secret]) {
        expect(() => new Webhook(secret).verify(g.body, g.headers as Record<string, string>)).not.toThrow();
      }
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
    }
  });

  it('follows no redirect, and disables a webhook still failing after the retry window', async () => {
    const r = await receiver();
    const elsewhere = await receiver();
    try {
      r.redirectTo = elsewhere.url;
      const hook = await subscribe(r.url);
      await move(1);
      await until('disabled', async () => {
        const shown = (await t.request('GET', `/v1/webhooks/${hook.id}`, { token: admin })).body;
        return shown.disabled === true;
      });
      expect(elsewhere.got).toEqual([]);
      const shown = (await t.request('GET', `/v1/webhooks/${hook.id}`, { token: admin })).body;
      expect(shown.disabledReason).toMatch(/retry window/);
      const deliveries = (await t.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: admin })).body.data;
      expect(new Set(deliveries.map((d: any) => d.statusCode))).toEqual(new Set([302]));
      // Enabled again, with the receiver fixed: the event is delivered.
      r.redirectTo = undefined;
      const enabled = await t.request('PATCH', `/v1/webhooks/${hook.id}`, { token: admin, body: { disabled: false } });
      expect(enabled.body).toMatchObject({ disabled: false, disabledReason: null });
      const before = r.got.length;
      await until('the delivery after enabling', () => r.got.length > before);
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
      await elsewhere.close();
    }
  });

  it('delivers to a webhook from one instance at a time, in order, with two instances', async () => {
    const second = await startTestApp(QUICK, t.databaseUrl);
    const r = await receiver();
    try {
      r.delayMs = 20;
      const hook = await subscribe(r.url);
      const moved = await move(20);
      await until('20 deliveries', () => r.got.length >= 20, 20_000);
      await sleep(300);
      expect(ids(r)).toEqual(moved);
      expect(r.maxInFlight).toBe(1);
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await r.close();
      await second.close();
    }
  });

  it('stops delivering once its lock connection is cut, and another instance resumes in order', async () => {
    const second = await startTestApp(QUICK, t.databaseUrl);
    const r = await receiver();
    const db = await connect(t.databaseUrl);
    try {
      r.delayMs = 30;
      const hook = await subscribe(r.url);
      const moved = await move(30);
      await until('some deliveries', () => r.got.length >= 6, 20_000);
      // The deliverer's connection holds the webhook's advisory lock (two keys: 7105003 and the id's hash). Cut, as
      // a fault would: its instance must send nothing more, so the other one's deliveries never interleave.
      const cut = await db.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND classid = 7105003 AND objid = hashtext($1)::oid AND granted`,
        [hook.id],
      );
      expect(cut.rows[0].n).toBe(1);
      await until('every event acknowledged', () => new Set(ids(r)).size === 30, 20_000);
      await sleep(300);
      // At least once, in order: each delivery is the event after the one before, or goes back to resend from a
      // cursor recorded before the cut (none, if every delivery before it was recorded). It never skips ahead,
      // which two deliverers interleaving would do.
      const got = ids(r);
      let last = -1;
      let wentBack = 0;
      for (const id of got) {
        const at = moved.indexOf(id);
        expect(at).toBeGreaterThanOrEqual(0);
        if (at !== last + 1) {
          expect(at).toBeLessThanOrEqual(last);
          wentBack++;
        }
        last = at;
      }
      expect(last).toBe(moved.length - 1);
      expect(wentBack).toBeLessThanOrEqual(2);
      await t.request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    } finally {
      await db.end();
      await r.close();
      await second.close();
    }
  });

  it('validates what it is given, and is for admins only', async () => {
    for (const body of [
      { url: 'ftp://example.com/', types: ['transfer.created'] },
      { url: 'https://u:p@example.com/', types: ['transfer.created'] },
      { url: 'https://example.com/', types: [] },
      { url: 'https://example.com/', types: ['transfer.nope'] },
    ]) {
      expect((await t.request('POST', '/v1/webhooks', { token: admin, body })).status).toBe(400);
    }
    const res = await t.request('POST', '/v1/webhooks', {
      token: op,
      body: { url: 'https://example.com/', types: ['transfer.created'] },
    });
    expect(res.status).toBe(403);
  });
});

describe('webhook deliveries across a crash', () => {
  it('resume after the service is killed mid-delivery: nothing lost, order kept', async () => {
    // Set up with an in-process app, then closed: from then on only the real service process delivers.
    const setup = await startTestApp(QUICK);
    const { operator: op, admin } = await tokensByRole(setup);
    const r = await receiver();
    const running: ReturnType<typeof spawnService>[] = [];
    try {
      r.delayMs = 60;
      const open = async (body: object) =>
        (await setup.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', ...body } })).body;
      const [a, b] = [
        await open({ normalBalance: 'debit', allowNegative: true }),
        await open({ normalBalance: 'credit' }),
      ];
      const hook = await setup.request('POST', '/v1/webhooks', {
        token: admin,
        body: { url: r.url, types: ['transfer.created'] },
      });
      expect(hook.status).toBe(201);
      const moved: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await setup.request('POST', '/v1/transfers', {
          token: op,
          body: { debitAccountId: a.id, creditAccountId: b.id, amount: '1', currency: 'USD' },
        });
        moved.push(res.body.id);
      }
      await setup.close();
      const env = {
        DATABASE_URL: setup.databaseUrl,
        JWT_SECRET: TEST_JWT_SECRET,
        CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        ...QUICK,
      };
      const first = spawnService({ ...env, PORT: String(await freePort()) });
      running.push(first);
      await waitReady(first.url, 30_000);
      await until('some deliveries', () => r.got.length >= 8, 20_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const before = r.got.length;
      expect(before).toBeLessThan(30);
      const second = spawnService({ ...env, PORT: String(await freePort()) });
      running.push(second);
      await waitReady(second.url, 30_000);
      await until('every event acknowledged', () => new Set(ids(r)).size === 30, 30_000);
      await sleep(300);
      // At least once, in order: the first service delivered a prefix, in order; the second resumed from the last
      // cursor recorded (the deliveries of the last 100 ms or so are not yet), and went on in order to the end.
      const got = ids(r);
      expect(got.slice(0, before)).toEqual(moved.slice(0, before));
      const from = moved.indexOf(got[before]!);
      expect(from).toBeGreaterThanOrEqual(0);
      expect(from).toBeLessThanOrEqual(before);
      expect(got.slice(before)).toEqual(moved.slice(from));
      // With answers taking 60 ms, a delivery is recorded within about two more: few are sent again.
      expect(before - from).toBeLessThanOrEqual(4);
    } finally {
      for (const svc of running) svc.child.kill('SIGKILL');
      await r.close();
    }
  });
});

describe('webhooks without WEBHOOK_ALLOW_PRIVATE', () => {
  it('never delivers to a loopback address, however it is written', async () => {
    const t = await startTestApp();
    const r = await receiver();
    try {
      const { operator: op, admin } = await tokensByRole(t);
      const port = new URL(r.url).port;
      const forms = [
        `http://127.0.0.1:${port}/`,
        `http://127.1.2.3:${port}/`,
        `http://[::1]:${port}/`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `http://localhost:${port}/`,
        `http://2130706433:${port}/`,
      ];
      const hooks = [];
      for (const url of forms) {
        const res = await t.request('POST', '/v1/webhooks', {
          token: admin,
          body: { url, types: ['account.created'] },
        });
        expect(res.status).toBe(201);
        hooks.push(res.body);
      }
      await t.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', normalBalance: 'debit' } });
      for (const hook of hooks) {
        await until(`a refused attempt for ${hook.url}`, async () => {
          const d = (await t.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: admin })).body.data;
          return d.length > 0;
        });
        const [attempt] = (await t.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: admin })).body.data;
        expect({ url: hook.url, statusCode: attempt.statusCode, error: attempt.error }).toEqual({
          url: hook.url,
          statusCode: null,
          error: expect.stringMatching(/^refused: .*forbidden address \(.*loopback\)$/),
        });
      }
      expect(r.got).toEqual([]);
    } finally {
      await r.close();
      await t.close();
    }
  });
});
