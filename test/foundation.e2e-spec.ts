import SwaggerParser from '@apidevtools/swagger-parser';
import { connect } from './support/database.js';
import { routesOf } from './support/routes.js';
import { startTestApp, type TestApp } from './support/app.js';

const PROBLEM = 'application/problem+json';

function expectProblem(
  res: { status: number; headers: Record<string, unknown>; body: any },
  status: number,
  code: string,
): void {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toContain(PROBLEM);
  expect(res.body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
}

describe('foundation: errors, operations, docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers liveness and readiness with the database and migrations checked', async () => {
    expect((await t.request('GET', '/health/live')).status).toBe(200);
    const ready = await t.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ database: { status: 'up' }, migrations: { status: 'up' } });
  });

  it('exposes Prometheus metrics with process metrics and the request histogram by route and status', async () => {
    await t.request('GET', '/health/live');
    const res = await t.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toContain('text/plain');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/health\/live"[^}]*status_code="200"/);
  });

  it('serves an OpenAPI 3 document with the bearer scheme and problem responses, and the Swagger UI', async () => {
    const doc = await t.request('GET', '/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.body.components.schemas.ProblemDoc).toBeDefined();
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/auth/token', '/v1/users/{id}', '/health/ready', '/metrics']),
    );
    // A full OpenAPI 3 validation (schema and $refs), not just a shape check.
    await expect(SwaggerParser.validate(structuredClone(doc.body))).resolves.toBeDefined();
    // Every route the application serves is documented.
    const documented = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const served = routesOf(t.app).map((r) => `${r.method} ${r.path}`);
    expect(served.filter((r) => !documented.includes(r))).toEqual([]);
    expect(Object.keys(doc.body.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
    // Any request with a body may be answered 503 while too many bodies are in flight: each says so.
    const withBody = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>)
        .filter(([, op]) => op.requestBody !== undefined)
        .map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, has503: '503' in op.responses })),
    );
    expect(withBody.length).toBeGreaterThan(5);
    expect(withBody.filter((o) => !o.has503)).toEqual([]);
    const ui = await t.request('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('answers an unknown route with 404 NOT_FOUND as problem+json', async () => {
    const res = await t.request('GET', '/v1/nothing-here');
    expectProblem(res, 404, 'NOT_FOUND');
  });

  it('echoes a caller-sent X-Request-Id into the header and the problem body', async () => {
    const res = await t.request('GET', '/v1/nothing-here', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    expect(res.body.requestId).toBe('trace-abc-123');
    const generated = await t.request('GET', '/v1/nothing-here', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
    const res = await t.request('POST', '/v1/auth/token', {
      rawBody: '{"username": "a",',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'MALFORMED_JSON');
  });

  it('refuses a "__proto__" or "constructor.prototype" key as a field (400 VALIDATION_FAILED), before authentication', async () => {
    const cases: [string, string][] = [
      ['{"currency":"USD","normalBalance":"credit","__proto__":{"allowNegative":true}}', 'body.__proto__'],
      ['{"currency":"USD","metadata":{"\\u005f_proto__":{"a":"b"}}}', 'body.metadata.__proto__'],
      ['\uFEFF{"currency":"USD","__proto__":null}', 'body.__proto__'],
      ['{"currency":"USD","constructor":{"prototype":{"allowNegative":true}}}', 'body.constructor'],
    ];
    for (const [rawBody, field] of cases) {
      for (const type of ['application/json', 'application/json; charset=utf-8']) {
        const res = await t.request('POST', '/v1/accounts', { rawBody, headers: { 'content-type': type } });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.body.errors).toEqual([{ field, message: 'is not an accepted field' }]);
      }
    }
    // Not JSON at all, or nothing: still MALFORMED_JSON.
    for (const rawBody of ['{"__proto__":', '']) {
      const res = await t.request('POST', '/v1/accounts', { rawBody, headers: { 'content-type': 'application/json' } });
      expectProblem(res, 400, 'MALFORMED_JSON');
    }
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await t.request('POST', '/v1/auth/token', {
      rawBody: 'username=a',
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const form = await t.request('POST', '/v1/auth/token', {
      rawBody: 'username=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const big = JSON.stringify({ username: 'a', password: 'x'.repeat(1024 * 1024) });
    const res = await t.request('POST', '/v1/auth/token', {
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses missing, mistyped and unknown fields with 400 VALIDATION_FAILED and errors[]', async () => {
    const missing = await t.request('POST', '/v1/auth/token', { body: { username: 'a' } });
    expectProblem(missing, 400, 'VALIDATION_FAILED');
    expect(missing.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'password' })]));

    const typed = await t.request('POST', '/v1/auth/token', { body: { username: 42, password: 'x' } });
    expectProblem(typed, 400, 'VALIDATION_FAILED');
    expect(typed.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'username' })]));

    const unknown = await t.request('POST', '/v1/auth/token', { body: { username: 'a', password: 'b', admin: true } });
    expectProblem(unknown, 400, 'VALIDATION_FAILED');
    expect(unknown.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'admin' })]));

    for (const body of [[], 'text', 7, null]) {
      const res = await t.request('POST', '/v1/auth/token', {
        rawBody: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(['VALIDATION_FAILED', 'MALFORMED_JSON']).toContain(res.body.code);
    }
  });

  it('answers an unexpected failure with 500 INTERNAL_ERROR and no internals', async () => {
    const db = await connect(t.databaseUrl);
    await db.query('ALTER TABLE users RENAME TO users_gone');
    try {
      const res = await t.request('POST', '/v1/auth/token', {
        body: { username: 'someone', password: 'whatever-password' },
      });
      expectProblem(res, 500, 'INTERNAL_ERROR');
      expect(res.text).not.toMatch(/users|relation|SELECT|QueryFailed|at /);
    } finally {
      await db.query('ALTER TABLE users_gone RENAME TO users');
      await db.end();
    }
  });
});
