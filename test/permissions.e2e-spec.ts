import { startTestApp, type TestApp } from './support/app.js';
import { type Role, tokensByRole } from './support/auth.js';
import { routesOf } from './support/routes.js';

type Who = Role | 'none';
const ALL: Role[] = ['admin', 'operator', 'auditor'];

/**
 * SPEC section 4, as a table: which roles may call each route; 'public' needs no token. A route the
 * application serves but this table does not name fails the test, so a new route must be declared here.
 */
const MATRIX: Record<string, Role[] | 'public'> = {
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /metrics': 'public',
  'POST /v1/auth/token': 'public',
  'GET /v1/auth/me': ALL,
  'POST /v1/users': ['admin'],
  'GET /v1/users': ['admin'],
  'GET /v1/users/:id': ['admin'],
  'PATCH /v1/users/:id': ['admin'],
  'POST /v1/api-keys': ['admin'],
  'GET /v1/api-keys': ['admin'],
  'GET /v1/api-keys/:id': ['admin'],
  'DELETE /v1/api-keys/:id': ['admin'],
  'POST /v1/ledgers': ['admin'],
  'GET /v1/ledgers': ALL,
  'GET /v1/ledgers/:idOrName': ALL,
  'PATCH /v1/ledgers/:idOrName': ['admin'],
  'POST /v1/ledgers/:idOrName/close': ['admin'],
  'POST /v1/accounts': ['admin', 'operator'],
  'PATCH /v1/accounts/:id': ['admin'],
  'GET /v1/accounts': ALL,
  'GET /v1/accounts/:id': ALL,
  'GET /v1/accounts/:id/balance': ALL,
  'GET /v1/accounts/:id/statement': ALL,
  'GET /v1/accounts/:id/entries': ALL,
  'POST /v1/transfers': ['operator'],
  'POST /v1/transfers/batch': ['operator'],
  'POST /v1/transfers/:id/post': ['operator'],
  'POST /v1/transfers/:id/void': ['operator'],
  'POST /v1/transfers/:id/reverse': ['operator'],
  'GET /v1/transfers': ALL,
  'GET /v1/transfers/:id': ALL,
  'POST /v1/transactions': ['operator'],
  'POST /v1/transactions/:id/post': ['operator'],
  'POST /v1/transactions/:id/void': ['operator'],
  'POST /v1/transactions/:id/reverse': ['operator'],
  'GET /v1/transactions': ALL,
  'GET /v1/transactions/:id': ALL,
  'GET /v1/ledger/entries': ['admin', 'auditor'],
  'GET /v1/ledger/export': ['admin', 'auditor'],
  'GET /v1/audit/trial-balance': ['admin', 'auditor'],
  'GET /v1/audit/verify': ['admin', 'auditor'],
  'GET /v1/audit/log': ['admin', 'auditor'],
  'GET /v1/events': ALL,
  'POST /v1/balance-monitors': ['admin', 'operator'],
  'GET /v1/balance-monitors': ALL,
  'GET /v1/balance-monitors/:id': ALL,
  'DELETE /v1/balance-monitors/:id': ['admin', 'operator'],
  'POST /v1/webhooks': ['admin'],
  'GET /v1/webhooks': ['admin'],
  'GET /v1/webhooks/:id': ['admin'],
  'PATCH /v1/webhooks/:id': ['admin'],
  'DELETE /v1/webhooks/:id': ['admin'],
  'GET /v1/webhooks/:id/deliveries': ['admin'],
  'POST /v1/webhooks/:id/replay': ['admin'],
  'POST /v1/webhooks/:id/rotate-secret': ['admin'],
  'POST /v1/audit/checkpoints': ['admin', 'auditor'],
  'GET /v1/audit/checkpoints': ['admin', 'auditor'],
  'GET /v1/audit/checkpoints/latest': ['admin', 'auditor'],
  'GET /v1/audit/checkpoints/keys': ['admin', 'auditor'],
  'GET /v1/audit/proofs/inclusion': ['admin', 'auditor'],
  'GET /v1/audit/proofs/consistency': ['admin', 'auditor'],
  'POST /v1/categories': ['admin'],
  'GET /v1/categories': ALL,
  'GET /v1/categories/:id': ALL,
  'PATCH /v1/categories/:id': ['admin'],
  'PUT /v1/categories/:id/accounts/:accountId': ['admin'],
  'DELETE /v1/categories/:id/accounts/:accountId': ['admin'],
  'GET /v1/categories/:id/balance': ALL,
  'GET /v1/reports/balance-sheet': ALL,
  'GET /v1/reports/income-statement': ALL,
};

describe('permissions: every route × every role', () => {
  let t: TestApp;
  let tokens: Record<Role, string>;
  beforeAll(async () => {
    t = await startTestApp();
    tokens = await tokensByRole(t);
  });
  afterAll(() => t.close());

  it('declares every served route in the matrix', () => {
    const served = routesOf(t.app).map((r) => `${r.method} ${r.path}`);
    expect(served.length).toBe(Object.keys(MATRIX).length);
    expect(served.filter((r) => !(r in MATRIX))).toEqual([]);
  });

  it('answers each cell with the status class the matrix gives', async () => {
    const cells: { route: string; who: Who; status: number; expected: string }[] = [];
    for (const { method, path } of routesOf(t.app)) {
      const key = `${method} ${path}`;
      const allowed = MATRIX[key];
      const url = path.replace(/:id/g, '00000000-0000-4000-8000-000000000000');
      for (const who of [...ALL, 'none'] as Who[]) {
        const res = await t.request(method, url, {
          ...(who === 'none' ? {} : { token: tokens[who] }),
          ...(method === 'GET' ? {} : { body: {} }),
        });
        const expected =
          allowed === 'public'
            ? 'not 401/403'
            : who === 'none'
              ? '401'
              : allowed?.includes(who)
                ? 'not 401/403'
                : '403';
        const ok =
          expected === 'not 401/403' ? res.status !== 401 && res.status !== 403 : res.status === Number(expected);
        if (!ok || res.status >= 500) cells.push({ route: key, who, status: res.status, expected });
      }
    }
    expect(cells).toEqual([]);
  });
});
