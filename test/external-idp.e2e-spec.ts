import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { startTestApp, type TestApp } from './support/app.js';
import { adminToken } from './support/auth.js';

/*
 * SPEC 10, an outside identity provider: its JWKS served over HTTP by this test, with real RS256, ES256 and
 * EdDSA keys; good tokens in (roles and ledgers mapped), rotation, the provider down, and the attacks.
 */
const ISSUER = 'https://idp.example.test/realms/bank';
const AUDIENCE = 'ledger-api';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  jwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens of an outside identity provider', () => {
  let t: TestApp;
  let jwks: Server;
  let served: JWK[] = [];
  let fetches = 0;
  let down = false;
  let rsa: SigningKey;
  let ec: SigningKey;
  let ed: SigningKey;
  let admin: string;

  const sign = (key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ sub: 'alice', preferred_username: 'alice@bank', realm_access: { roles: ['operator'] }, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);

  const me = (token: string) => t.request('GET', '/v1/auth/me', { token });

  beforeAll(async () => {
    [rsa, ec, ed] = await Promise.all([
      signingKey('rsa-1', 'RS256'),
      signingKey('ec-1', 'ES256'),
      signingKey('ed-1', 'EdDSA'),
    ]);
    served = [rsa.jwk, ec.jwk, ed.jwk];
    jwks = createServer((req, res) => {
      fetches++;
      if (down) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const port = (jwks.address() as AddressInfo).port;
    t = await startTestApp({
      JWT_JWKS_URL: `http://127.0.0.1:${port}/realms/bank/certs`,
      JWT_EXTERNAL_ISSUER: ISSUER,
      JWT_EXTERNAL_AUDIENCE: AUDIENCE,
      JWT_ROLES_CLAIM: 'realm_access.roles',
      JWT_LEDGERS_CLAIM: 'ledgers',
      JWT_JWKS_COOLDOWN_MS: '500',
    });
    admin = await adminToken(t);
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it.each(['RS256', 'ES256', 'EdDSA'])('accepts a %s token, with its roles mapped and the actor named', async (alg) => {
    const key = { RS256: rsa, ES256: ec, EdDSA: ed }[alg as SigningKey['alg']];
    const res = await me(await sign(key, { realm_access: { roles: ['operator', 'auditor', 'superuser'] } }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: `${ISSUER}#alice`,
      username: 'alice@bank',
      roles: ['operator', 'auditor'],
      ledgers: null,
    });
  });

  it('refuses a token whose roles are none of ours (403), and limits one to the ledgers it names', async () => {
    expect((await me(await sign(rsa, { realm_access: { roles: ['superuser'] } }))).status).toBe(403);
    const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `idp-${Date.now()}` } })).body;
    const token = await sign(ec, { ledgers: [ledger.name, 'no-such-ledger'] });
    expect((await me(token)).body.ledgers).toEqual([ledger.id]);
    // It writes as itself: accounts it opens land in its only ledger, and its keys are its own.
    const opened = await t.request('POST', '/v1/accounts', {
      token,
      body: { currency: 'USD', normalBalance: 'credit' },
      headers: { 'idempotency-key': 'idp-1' },
    });
    expect([opened.status, opened.body.ledgerId]).toEqual([201, ledger.id]);
    const actor = { type: 'external', id: `${ISSUER}#alice`, name: 'alice@bank' };
    expect(opened.body.createdBy).toEqual(actor);
    const replay = await t.request('POST', '/v1/accounts', {
      token,
      body: { currency: 'USD', normalBalance: 'credit' },
      headers: { 'idempotency-key': 'idp-1' },
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(opened.body);
    const mine = await t.request('GET', `/v1/accounts?createdBy=${encodeURIComponent(actor.id)}`, { token: admin });
    expect(mine.body.data.map((a: { id: string }) => a.id)).toEqual([opened.body.id]);
    const elsewhere = (
      await t.request('POST', '/v1/accounts', { token: admin, body: { currency: 'USD', normalBalance: 'credit' } })
    ).body;
    expect((await t.request('GET', `/v1/accounts/${elsewhere.id}`, { token })).status).toBe(404);
  });

  it('follows key rotation: a new kid is fetched, and keeps the keys it has while the provider is down', async () => {
    const rotated = await signingKey('rsa-2', 'RS256');
    const before = fetches;
    served = [...served, rotated.jwk];
    await new Promise((r) => setTimeout(r, 600));
    expect((await me(await sign(rotated))).status).toBe(200);
    expect(fetches).toBeGreaterThan(before);
    down = true;
    try {
      await new Promise((r) => setTimeout(r, 600));
      // Known keys still verify; a kid it never saw cannot be fetched, and is refused.
      expect((await me(await sign(rotated))).status).toBe(200);
      expect((await me(await sign(ed))).status).toBe(200);
      const unseen = await signingKey('rsa-3', 'RS256');
      expect((await me(await sign(unseen))).status).toBe(401);
    } finally {
      down = false;
    }
  });

  describe('attacks', () => {
    const refused = async (token: string): Promise<void> => {
      const res = await me(token);
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    };
    const claims = () => ({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'mallory',
      realm_access: { roles: ['admin'] },
      exp: Math.floor(Date.now() / 1000) + 300,
    });

    it('refuses alg none', async () => {
      await refused(`${b64({ alg: 'none', typ: 'JWT', kid: rsa.kid })}.${b64(claims())}.`);
    });

    it("refuses HS256 signed with the provider's public key as the secret", async () => {
      for (const secret of [
        createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' }),
        JSON.stringify(rsa.jwk),
      ]) {
        const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${b64(claims())}`;
        await refused(`${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`);
      }
    });

    it('refuses a key not in the set, even under a known kid', async () => {
      const stranger = await signingKey('rsa-1', 'RS256');
      await refused(await sign(stranger));
    });

    it('refuses an expired token, another issuer, another audience, and no subject', async () => {
      const expired = await new SignJWT({ sub: 'alice', realm_access: { roles: ['admin'] } })
        .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
        .sign(rsa.privateKey);
      await refused(expired);
      await refused(
        await new SignJWT({ sub: 'alice', realm_access: { roles: ['admin'] } })
          .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
          .setIssuer(ISSUER)
          .setAudience('another-api')
          .setExpirationTime('5m')
          .sign(rsa.privateKey),
      );
      const noSubject = await new SignJWT({ realm_access: { roles: ['admin'] } })
        .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(rsa.privateKey);
      await refused(noSubject);
      // Another issuer is not the provider's: it goes to the service's own token check, and fails there.
      const other = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
        .setIssuer('https://evil.example.test')
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(rsa.privateKey);
      await refused(other);
    });

    it('refuses a kid that names a key of another type', async () => {
      // Signed ES256 but naming the RSA key, and signed RS256 naming the EC key.
      await refused(await sign(ec, {}, { kid: rsa.kid }));
      await refused(await sign(rsa, {}, { kid: ec.kid }));
      await refused(await sign(ed, {}, { kid: ec.kid, alg: 'EdDSA' }));
    });
  });
});
