import { ADMIN, startTestApp, TEST_JWT_SECRET, type TestApp } from './support/app.js';
import { adminToken, login, userWith } from './support/auth.js';
import { decodePayload, replacePayload, signHs256, unsigned } from './support/jwt.js';

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOGIN_RATE_LIMIT: '3', LOGIN_RATE_WINDOW_SECONDS: '2' });
  });
  afterAll(() => t.close());

  describe('tokens', () => {
    it('issues a Bearer JWT with the configured lifetime, issuer and audience', async () => {
      const res = await t.request('POST', '/v1/auth/token', { body: ADMIN });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
      const claims = decodePayload(res.body.accessToken);
      expect(claims).toMatchObject({ iss: 'ledger-service', aud: 'ledger-api' });
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
      const me = await t.request('GET', '/v1/auth/me', { token: res.body.accessToken });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ id: claims.sub, username: ADMIN.username, roles: ['admin'], ledgers: null });
    });

    it('refuses every forged, stale or foreign token with 401 UNAUTHENTICATED', async () => {
      const good = await adminToken(t);
      const claims = decodePayload(good);
      const now = Math.floor(Date.now() / 1000);
      const base = { sub: claims.sub, roles: ['admin'], iss: 'ledger-service', aud: 'ledger-api', iat: now };
      const attacks: Record<string, string | undefined> = {
        'no token': undefined,
        'alg none': unsigned({ ...base, exp: now + 600 }),
        'another secret': signHs256({ ...base, exp: now + 600 }, 'some-other-secret-of-at-least-32-bytes!!'),
        'payload changed after signing': replacePayload(good, {
          ...claims,
          roles: ['operator', 'admin'],
          sub: claims.sub,
          exp: (claims.exp as number) + 3600,
        }),
        expired: signHs256({ ...base, iat: now - 1000, exp: now - 10 }, TEST_JWT_SECRET),
        'nbf in the future': signHs256({ ...base, exp: now + 600, nbf: now + 300 }, TEST_JWT_SECRET),
        'wrong iss': signHs256({ ...base, iss: 'evil', exp: now + 600 }, TEST_JWT_SECRET),
        'wrong aud': signHs256({ ...base, aud: 'other-api', exp: now + 600 }, TEST_JWT_SECRET),
        'missing exp': signHs256({ ...base }, TEST_JWT_SECRET),
        'HS512 instead of the pinned HS256': signHs256({ ...base, exp: now + 600 }, TEST_JWT_SECRET, {
          alg: 'HS512',
          typ: 'JWT',
        }),
        'unknown subject': signHs256(
          { ...base, sub: '00000000-0000-4000-8000-000000000000', exp: now + 600 },
          TEST_JWT_SECRET,
        ),
        garbage: 'not.a.jwt',
      };
      // The control: the same claims, correctly signed, are accepted.
      expect(
        (await t.request('GET', '/v1/auth/me', { token: signHs256({ ...base, exp: now + 600 }, TEST_JWT_SECRET) }))
          .status,
      ).toBe(200);
      for (const [name, token] of Object.entries(attacks)) {
        const res = await t.request('GET', '/v1/auth/me', token === undefined ? {} : { token });
        expect({ name, status: res.status, code: res.body?.code }).toEqual({
          name,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    });

    it('refuses a token that expires after it was accepted (a verified token is remembered, never past exp)', async () => {
      const claims = decodePayload(await adminToken(t));
      const now = Math.floor(Date.now() / 1000);
      const token = signHs256(
        { sub: claims.sub, roles: ['admin'], iss: 'ledger-service', aud: 'ledger-api', iat: now, exp: now + 2 },
        TEST_JWT_SECRET,
      );
      expect((await t.request('GET', '/v1/auth/me', { token })).status).toBe(200);
      expect((await t.request('GET', '/v1/auth/me', { token })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, (now + 2) * 1000 - Date.now() + 50));
      const res = await t.request('GET', '/v1/auth/me', { token });
      expect({ status: res.status, code: res.body?.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    });

    it('stops honouring the token of a user disabled after it was issued within 5 seconds', async () => {
      const user = await userWith(t, ['auditor']);
      expect((await t.request('GET', '/v1/auth/me', { token: user.token })).status).toBe(200);
      const patched = await t.request('PATCH', `/v1/users/${user.id}`, {
        token: await adminToken(t),
        body: { disabled: true },
      });
      expect(patched.status).toBe(200);
      expect(patched.body.disabled).toBe(true);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 6000) {
        status = (await t.request('GET', '/v1/auth/me', { token: user.token })).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(5000);
      // and a disabled user cannot log in again
      const relogin = await t.request('POST', '/v1/auth/token', {
        body: { username: user.username, password: user.password },
      });
      expect(relogin.status).toBe(401);
    });
  });

  describe('login', () => {
    it('answers a wrong password and an unknown user with the same 401 body', async () => {
      const user = await userWith(t, ['operator']);
      const wrong = await t.request('POST', '/v1/auth/token', {
        body: { username: user.username, password: 'wrong-password-123' },
      });
      const unknown = await t.request('POST', '/v1/auth/token', {
        body: { username: 'nobody-at-all', password: 'wrong-password-123' },
      });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
      expect(strip(wrong.body)).toEqual(strip(unknown.body));
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    });

    it('rate limits repeated failures per username with 429 and Retry-After, then recovers', async () => {
      const user = await userWith(t, ['operator']);
      const attempt = () =>
        t.request('POST', '/v1/auth/token', { body: { username: user.username, password: 'not-the-password' } });
      for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
      const limited = await attempt();
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // even the right password is refused while limited
      expect(
        (await t.request('POST', '/v1/auth/token', { body: { username: user.username, password: user.password } }))
          .status,
      ).toBe(429);
      await new Promise((r) => setTimeout(r, 2100));
      expect(await login(t, user.username, user.password)).toEqual(expect.any(String));
    });
  });
});

describe('users', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  it('creates a user without ever returning the password or its hash', async () => {
    const res = await t.request('POST', '/v1/users', {
      token: admin,
      body: { username: 'Alice.Ops', password: 'a-very-long-password', roles: ['operator', 'auditor'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'Alice.Ops',
      roles: ['operator', 'auditor'],
      ledgers: null,
      disabled: false,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
      passwordChangedAt: null,
    });
    const secret = /"password(Hash)?"|a-very-long-password|argon2/i;
    expect(res.text).not.toMatch(secret);
    const got = await t.request('GET', `/v1/users/${res.body.id}`, { token: admin });
    expect(got.status).toBe(200);
    expect(got.text).not.toMatch(secret);
  });

  it('refuses a username taken in another case with 409 USERNAME_TAKEN', async () => {
    await t.request('POST', '/v1/users', {
      token: admin,
      body: { username: 'bob', password: 'a-very-long-password', roles: ['auditor'] },
    });
    const dup = await t.request('POST', '/v1/users', {
      token: admin,
      body: { username: 'BOB', password: 'a-very-long-password', roles: ['auditor'] },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('USERNAME_TAKEN');
  });

  it.each([
    [{ username: 'short-pw', password: 'elevenchars', roles: ['operator'] }, 'password'],
    [{ username: 'ab', password: 'a-very-long-password', roles: ['operator'] }, 'username'],
    [{ username: 'has space', password: 'a-very-long-password', roles: ['operator'] }, 'username'],
    [{ username: 'noroles', password: 'a-very-long-password', roles: [] }, 'roles'],
    [{ username: 'badrole', password: 'a-very-long-password', roles: ['root'] }, 'roles'],
    [{ username: 'extra', password: 'a-very-long-password', roles: ['operator'], disabled: true }, 'disabled'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    const res = await t.request('POST', '/v1/users', { token: admin, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('changes roles and passwords, and pages through users with a cursor', async () => {
    const user = await userWith(t, ['auditor']);
    const patched = await t.request('PATCH', `/v1/users/${user.id}`, {
      token: admin,
      body: { roles: ['operator'], password: 'a-brand-new-password' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.roles).toEqual(['operator']);
    expect(
      (await t.request('POST', '/v1/auth/token', { body: { username: user.username, password: user.password } }))
        .status,
    ).toBe(401);
    const token = await login(t, user.username, 'a-brand-new-password');
    expect((await t.request('GET', '/v1/auth/me', { token })).body.roles).toEqual(['operator']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('GET', `/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        token: admin,
      });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((u: { id: string }) => u.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const all = await t.request('GET', '/v1/users?limit=500', { token: admin });
    expect(seen).toEqual(all.body.data.map((u: { id: string }) => u.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect((await t.request('GET', '/v1/users?limit=501', { token: admin })).status).toBe(400);
    expect((await t.request('GET', '/v1/users?cursor=garbage', { token: admin })).status).toBe(400);
  });

  it('answers unknown and malformed user ids with 404 and 400', async () => {
    expect((await t.request('GET', '/v1/users/00000000-0000-4000-8000-000000000000', { token: admin })).status).toBe(
      404,
    );
    expect((await t.request('GET', '/v1/users/not-a-uuid', { token: admin })).status).toBe(400);
    expect(
      (
        await t.request('PATCH', '/v1/users/00000000-0000-4000-8000-000000000000', {
          token: admin,
          body: { disabled: true },
        })
      ).status,
    ).toBe(404);
  });

  it('replays a user creation retried with the same Idempotency-Key', async () => {
    const body = { username: 'idem-user', password: 'a-very-long-password', roles: ['auditor'] };
    const headers = { 'idempotency-key': 'create-idem-user' };
    const first = await t.request('POST', '/v1/users', { token: admin, body, headers });
    const again = await t.request('POST', '/v1/users', { token: admin, body, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await t.request('POST', '/v1/users', {
      token: admin,
      body: { ...body, username: 'idem-user-2' },
      headers,
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});
