import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { adminToken, login, type Role } from './support/auth.js';
import { ledgerViolations } from './support/invariants.js';
import { createAccount, transfer } from './support/ledger.js';
import { routesOf } from './support/routes.js';

/*
 * SPEC 9, scoped callers: for a caller limited to some ledgers, anything in another ledger is answered exactly as
 * if it did not exist. Every route the application serves is probed here for a scoped operator, auditor and admin
 * (as its roles allow) against its own ledger, another ledger and an id that exists nowhere; a route missing from
 * PROBES fails the test, so a new route must say how it is scoped.
 */

type Target = 'own' | 'other' | 'unknown';
interface Call {
  method: string;
  url: string;
  body?: unknown;
  /** The id or name that differs between the other ledger's request and the unknown one's (replaced before comparing). */
  ref?: string;
}
type Probe =
  /** Answers about the other ledger exactly as about nothing; the unlimited caller of the same role sees it. */
  | {
      kind: 'hidden';
      who: Role[];
      call: (target: Target) => Call | Promise<Call>;
      ownStatus: number;
      /** The unlimited caller's status for the other ledger's request, when not ownStatus. */
      reachStatus?: number;
    }
  /** Reaches across ledgers: refused (403) to a limited caller. */
  | { kind: 'unlimited'; who: Role[]; call: () => Call }
  /** About the caller itself, or public; or `shared`: the same for every caller, no ledger's data (verifier keys). */
  | { kind: 'caller' | 'public' | 'shared' };

interface Books {
  ledger: { id: string; name: string };
  source: any;
  account: any;
  other: any;
}

describe('scoped callers (SPEC 9)', () => {
  let t: TestApp;
  let admin: string;
  let A: Books;
  let B: Books;
  /** Callers limited to ledger A, and callers of the same roles that see every ledger. */
  const scoped = {} as Record<Role, string>;
  const unlimited = {} as Record<Role, string>;
  let asOf: string;

  const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

  async function user(roles: Role[], ledgers?: string[]): Promise<{ id: string; token: string }> {
    const username = unique(roles.join('-'));
    const password = `pw-${randomUUID()}`;
    const res = await t.request('POST', '/v1/users', {
      token: admin,
      body: { username, password, roles, ...(ledgers === undefined ? {} : { ledgers }) },
    });
    if (res.status !== 201) throw new Error(`user creation failed: ${res.status} ${res.text}`);
    return { id: res.body.id, token: await login(t, username, password) };
  }

  async function books(): Promise<Books> {
    const res = await t.request('POST', '/v1/ledgers', { token: admin, body: { name: unique('scope') } });
    const ledger = res.body;
    const source = await createAccount(t, admin, { ledgerId: ledger.id, normalBalance: 'debit', allowNegative: true });
    const account = await createAccount(t, admin, { ledgerId: ledger.id });
    const other = await createAccount(t, admin, { ledgerId: ledger.id });
    return { ledger, source, account, other };
  }

  /** A fresh transfer of `books`, by an unlimited operator: pending or posted. */
  async function movement(of: Books, pending: boolean): Promise<string> {
    const res = await transfer(t, unlimited.operator, {
      debitAccountId: of.source.id,
      creditAccountId: of.account.id,
      amount: '100',
      pending,
    });
    if (res.status !== 201) throw new Error(`transfer failed: ${res.status} ${res.text}`);
    return res.body.id;
  }

  /** A fresh transaction of `books` (three postings), by an unlimited operator: pending or posted. */
  async function transaction(of: Books, pending: boolean): Promise<string> {
    const posting = (accountId: string, direction: string, amount: string) => ({
      accountId,
      direction,
      amount,
      currency: 'USD',
    });
    const res = await t.request('POST', '/v1/transactions', {
      token: unlimited.operator,
      body: {
        postings: [
          posting(of.source.id, 'debit', '100'),
          posting(of.account.id, 'credit', '60'),
          posting(of.other.id, 'credit', '40'),
        ],
        pending,
      },
    });
    if (res.status !== 201) throw new Error(`transaction failed: ${res.status} ${res.text}`);
    return res.body.id;
  }

  const booksOf = (target: Target): Books => (target === 'own' ? A : B);
  const accountId = (target: Target): string => (target === 'unknown' ? randomUUID() : booksOf(target).account.id);
  const ledgerRef = (target: Target): string =>
    target === 'unknown' ? unique('nowhere') : booksOf(target).ledger.name;
  const transferId = async (target: Target, pending: boolean): Promise<string> =>
    target === 'unknown' ? randomUUID() : movement(booksOf(target), pending);
  const byId = (path: string) => (target: Target) => {
    const id = accountId(target);
    return { method: 'GET', url: path.replace(':id', id), ref: id };
  };
  const filtered = (path: string, param: 'ledgerId' | 'accountId') => (target: Target) => {
    const ref = param === 'ledgerId' ? ledgerRef(target) : accountId(target);
    return { method: 'GET', url: `${path}${path.includes('?') ? '&' : '?'}${param}=${ref}`, ref };
  };
  const settle = (action: 'post' | 'void') => async (target: Target) => {
    const id = await transferId(target, true);
    return { method: 'POST', url: `/v1/transfers/${id}/${action}`, body: {}, ref: id };
  };

  const transactionId = async (target: Target, pending: boolean): Promise<string> =>
    target === 'unknown' ? randomUUID() : transaction(booksOf(target), pending);
  const onTransaction = (action: 'post' | 'void' | 'reverse') => async (target: Target) => {
    const id = await transactionId(target, action !== 'reverse');
    return { method: 'POST', url: `/v1/transactions/${id}/${action}`, body: {}, ref: id };
  };

  /** A checkpoint of the target's ledger (by an unlimited admin), so that its tree holds every entry so far. */
  const checkpointed = async (target: Target): Promise<void> => {
    if (target === 'unknown') return;
    const res = await t.request('POST', '/v1/audit/checkpoints', {
      token: admin,
      body: { ledgerId: booksOf(target).ledger.id },
    });
    if (res.status !== 201) throw new Error(`checkpoint failed: ${res.status} ${res.text}`);
  };
  const entryId = async (target: Target): Promise<string> => {
    if (target === 'unknown') return randomUUID();
    const res = await t.request('GET', `/v1/accounts/${booksOf(target).account.id}/entries`, { token: admin });
    return res.body.data[0].id as string;
  };

  /** A fresh category of the target's ledger, made by an unlimited admin. */
  const categoryId = async (target: Target): Promise<string> => {
    if (target === 'unknown') return randomUUID();
    const res = await t.request('POST', '/v1/categories', {
      token: admin,
      body: { ledgerId: booksOf(target).ledger.id, name: unique('cat'), normalBalance: 'debit' },
    });
    if (res.status !== 201) throw new Error(`category failed: ${res.status} ${res.text}`);
    return res.body.id as string;
  };
  /** A webhook of the target's ledger, aimed at loopback: refused at delivery, so nothing is ever sent. */
  const webhookId = async (target: Target): Promise<string> => {
    if (target === 'unknown') return randomUUID();
    const res = await t.request('POST', '/v1/webhooks', {
      token: admin,
      body: { ledgerId: booksOf(target).ledger.id, url: 'http://127.0.0.1:9/', types: ['transfer.created'] },
    });
    if (res.status !== 201) throw new Error(`webhook failed: ${res.status} ${res.text}`);
    return res.body.id as string;
  };
  const onWebhook =
    (method: 'GET' | 'PATCH' | 'DELETE' | 'POST', suffix: string, body?: unknown) => async (target: Target) => {
      const id = await webhookId(target);
      return { method, url: `/v1/webhooks/${id}${suffix}`, ...(body === undefined ? {} : { body }), ref: id };
    };
  const monitorId = async (target: Target): Promise<string> => {
    if (target === 'unknown') return randomUUID();
    const res = await t.request('POST', '/v1/balance-monitors', {
      token: admin,
      body: { accountId: accountId(target), condition: { posted: { gt: '1000000' } } },
    });
    if (res.status !== 201) throw new Error(`monitor failed: ${res.status} ${res.text}`);
    return res.body.id as string;
  };
  const membership = (method: 'PUT' | 'DELETE') => async (target: Target) => {
    const id = await categoryId(target);
    const account = accountId(target);
    // Taking out an account that is not in: as idempotent as putting it in twice.
    return { method, url: `/v1/categories/${id}/accounts/${account}`, ref: id };
  };

  const ALL: Role[] = ['admin', 'operator', 'auditor'];
  const PROBES: Record<string, Probe> = {
    'GET /health/live': { kind: 'public' },
    'GET /health/ready': { kind: 'public' },
    'GET /metrics': { kind: 'public' },
    'POST /v1/auth/token': { kind: 'public' },
    'GET /v1/auth/me': { kind: 'caller' },
    'POST /v1/users': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'POST', url: '/v1/users', body: {} }),
    },
    'GET /v1/users': { kind: 'unlimited', who: ['admin'], call: () => ({ method: 'GET', url: '/v1/users' }) },
    'GET /v1/users/:id': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'GET', url: `/v1/users/${randomUUID()}` }),
    },
    'PATCH /v1/users/:id': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'PATCH', url: `/v1/users/${randomUUID()}`, body: {} }),
    },
    'POST /v1/api-keys': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'POST', url: '/v1/api-keys', body: {} }),
    },
    'GET /v1/api-keys': { kind: 'unlimited', who: ['admin'], call: () => ({ method: 'GET', url: '/v1/api-keys' }) },
    'GET /v1/api-keys/:id': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'GET', url: `/v1/api-keys/${randomUUID()}` }),
    },
    'DELETE /v1/api-keys/:id': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'DELETE', url: `/v1/api-keys/${randomUUID()}` }),
    },
    'POST /v1/ledgers': {
      kind: 'unlimited',
      who: ['admin'],
      call: () => ({ method: 'POST', url: '/v1/ledgers', body: { name: unique('nope') } }),
    },
    // Takes no filter: what it leaves out is checked with the other lists below.
    'GET /v1/ledgers': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: () => ({ method: 'GET', url: '/v1/ledgers' }),
    },
    'GET /v1/ledgers/:idOrName': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: (target) => {
        const ref = ledgerRef(target);
        return { method: 'GET', url: `/v1/ledgers/${ref}`, ref };
      },
    },
    'POST /v1/ledgers/:idOrName/close': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: (target) => {
        const ref = target === 'unknown' ? randomUUID() : booksOf(target).ledger.id;
        return { method: 'POST', url: `/v1/ledgers/${ref}/close`, body: { until: new Date().toISOString() }, ref };
      },
    },
    'PATCH /v1/ledgers/:idOrName': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: (target) => {
        const ref = target === 'unknown' ? randomUUID() : booksOf(target).ledger.id;
        return { method: 'PATCH', url: `/v1/ledgers/${ref}`, body: { description: 'changed' }, ref };
      },
    },
    'POST /v1/accounts': {
      kind: 'hidden',
      who: ['admin', 'operator'],
      ownStatus: 201,
      call: (target) => {
        const ref = ledgerRef(target);
        return {
          method: 'POST',
          url: '/v1/accounts',
          body: { currency: 'USD', normalBalance: 'credit', ledgerId: ref },
          ref,
        };
      },
    },
    'PATCH /v1/accounts/:id': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: (target) => {
        const id = accountId(target);
        return { method: 'PATCH', url: `/v1/accounts/${id}`, body: { name: 'renamed' }, ref: id };
      },
    },
    'GET /v1/accounts': { kind: 'hidden', who: ALL, ownStatus: 200, call: filtered('/v1/accounts', 'ledgerId') },
    'GET /v1/accounts/:id': { kind: 'hidden', who: ALL, ownStatus: 200, call: byId('/v1/accounts/:id') },
    'GET /v1/accounts/:id/balance': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: byId('/v1/accounts/:id/balance'),
    },
    'GET /v1/accounts/:id/statement': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: (target) => {
        const id = accountId(target);
        return { method: 'GET', url: `/v1/accounts/${id}/statement?to=${asOf}`, ref: id };
      },
    },
    'GET /v1/accounts/:id/entries': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: byId('/v1/accounts/:id/entries'),
    },
    'POST /v1/transfers': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 201,
      call: (target) => {
        const debit = target === 'unknown' ? randomUUID() : booksOf(target).source.id;
        const credit = target === 'unknown' ? randomUUID() : booksOf(target).account.id;
        const body = { debitAccountId: debit, creditAccountId: credit, amount: '1', currency: 'USD' };
        return { method: 'POST', url: '/v1/transfers', body, ref: debit };
      },
    },
    'POST /v1/transfers/batch': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 201,
      // To a caller that sees both ledgers, the batch crosses them.
      reachStatus: 422,
      call: (target) => {
        // The first transfer is in the caller's ledger; the second in the target's.
        const debit = target === 'unknown' ? randomUUID() : booksOf(target).source.id;
        const credit = target === 'unknown' ? randomUUID() : booksOf(target).other.id;
        const item = (d: string, c: string) => ({
          debitAccountId: d,
          creditAccountId: c,
          amount: '1',
          currency: 'USD',
        });
        const body = { transfers: [item(A.source.id, A.account.id), item(debit, credit)] };
        return { method: 'POST', url: '/v1/transfers/batch', body, ref: debit };
      },
    },
    'POST /v1/transfers/:id/post': { kind: 'hidden', who: ['operator'], ownStatus: 200, call: settle('post') },
    'POST /v1/transfers/:id/void': { kind: 'hidden', who: ['operator'], ownStatus: 200, call: settle('void') },
    'POST /v1/transfers/:id/reverse': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 201,
      call: async (target) => {
        const id = await transferId(target, false);
        return { method: 'POST', url: `/v1/transfers/${id}/reverse`, body: {}, ref: id };
      },
    },
    'GET /v1/transfers': { kind: 'hidden', who: ALL, ownStatus: 200, call: filtered('/v1/transfers', 'accountId') },
    'GET /v1/transfers/:id': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: async (target) => {
        const id = await transferId(target, false);
        return { method: 'GET', url: `/v1/transfers/${id}`, ref: id };
      },
    },
    'POST /v1/transactions': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 201,
      call: (target) => {
        const debit = target === 'unknown' ? randomUUID() : booksOf(target).source.id;
        const credit = target === 'unknown' ? randomUUID() : booksOf(target).account.id;
        const postings = [
          { accountId: debit, direction: 'debit', amount: '1', currency: 'USD' },
          { accountId: credit, direction: 'credit', amount: '1', currency: 'USD' },
        ];
        return { method: 'POST', url: '/v1/transactions', body: { postings }, ref: debit };
      },
    },
    'POST /v1/transactions/:id/post': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 200,
      call: onTransaction('post'),
    },
    'POST /v1/transactions/:id/void': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 200,
      call: onTransaction('void'),
    },
    'POST /v1/transactions/:id/reverse': {
      kind: 'hidden',
      who: ['operator'],
      ownStatus: 201,
      call: onTransaction('reverse'),
    },
    'GET /v1/transactions': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: filtered('/v1/transactions', 'accountId'),
    },
    'GET /v1/transactions/:id': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: async (target) => {
        const id = await transactionId(target, false);
        return { method: 'GET', url: `/v1/transactions/${id}`, ref: id };
      },
    },
    'GET /v1/ledger/entries': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/ledger/entries', 'accountId'),
    },
    'GET /v1/ledger/export': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/ledger/export?format=csv', 'ledgerId'),
    },
    'GET /v1/audit/trial-balance': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: (target) => filtered(`/v1/audit/trial-balance?asOf=${asOf}`, 'ledgerId')(target),
    },
    'GET /v1/audit/verify': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/audit/verify', 'ledgerId'),
    },
    'GET /v1/audit/log': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/audit/log', 'ledgerId'),
    },
    'POST /v1/webhooks': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 201,
      call: (target) => {
        const ref = ledgerRef(target);
        const body = { ledgerId: ref, url: 'http://127.0.0.1:9/', types: ['account.created'] };
        return { method: 'POST', url: '/v1/webhooks', body, ref };
      },
    },
    'GET /v1/webhooks': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: () => ({ method: 'GET', url: '/v1/webhooks?limit=1', ref: undefined }),
    },
    'GET /v1/webhooks/:id': { kind: 'hidden', who: ['admin'], ownStatus: 200, call: onWebhook('GET', '') },
    'PATCH /v1/webhooks/:id': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: onWebhook('PATCH', '', { types: ['transfer.posted'] }),
    },
    'DELETE /v1/webhooks/:id': { kind: 'hidden', who: ['admin'], ownStatus: 204, call: onWebhook('DELETE', '') },
    'GET /v1/webhooks/:id/deliveries': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: onWebhook('GET', '/deliveries'),
    },
    'POST /v1/webhooks/:id/replay': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: onWebhook('POST', '/replay', { after: '0' }),
    },
    'POST /v1/webhooks/:id/rotate-secret': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: onWebhook('POST', '/rotate-secret', {}),
    },
    'POST /v1/balance-monitors': {
      kind: 'hidden',
      who: ['admin', 'operator'],
      ownStatus: 201,
      call: (target) => {
        const ref = accountId(target);
        const body = { accountId: ref, condition: { available: { lt: '0' } } };
        return { method: 'POST', url: '/v1/balance-monitors', body, ref };
      },
    },
    'GET /v1/balance-monitors': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: filtered('/v1/balance-monitors', 'accountId'),
    },
    'GET /v1/balance-monitors/:id': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: async (target) => {
        const id = await monitorId(target);
        return { method: 'GET', url: `/v1/balance-monitors/${id}`, ref: id };
      },
    },
    'DELETE /v1/balance-monitors/:id': {
      kind: 'hidden',
      who: ['admin', 'operator'],
      ownStatus: 204,
      call: async (target) => {
        const id = await monitorId(target);
        return { method: 'DELETE', url: `/v1/balance-monitors/${id}`, ref: id };
      },
    },
    'GET /v1/events': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: filtered('/v1/events', 'ledgerId'),
    },
    'POST /v1/audit/checkpoints': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 201,
      call: (target) => {
        const ref = ledgerRef(target);
        return { method: 'POST', url: '/v1/audit/checkpoints', body: { ledgerId: ref }, ref };
      },
    },
    'GET /v1/audit/checkpoints': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/audit/checkpoints', 'ledgerId'),
    },
    'GET /v1/audit/checkpoints/latest': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: async (target) => {
        await checkpointed(target);
        return filtered('/v1/audit/checkpoints/latest', 'ledgerId')(target);
      },
    },
    'GET /v1/audit/checkpoints/keys': { kind: 'shared' },
    'GET /v1/reports/balance-sheet': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: filtered('/v1/reports/balance-sheet', 'ledgerId'),
    },
    'GET /v1/reports/income-statement': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: filtered('/v1/reports/income-statement', 'ledgerId'),
    },
    'POST /v1/categories': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 201,
      call: (target) => {
        const ref = ledgerRef(target);
        return {
          method: 'POST',
          url: '/v1/categories',
          body: { ledgerId: ref, name: 'c', normalBalance: 'debit' },
          ref,
        };
      },
    },
    'GET /v1/categories': { kind: 'hidden', who: ALL, ownStatus: 200, call: filtered('/v1/categories', 'ledgerId') },
    'GET /v1/categories/:id': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: async (target) => {
        const id = await categoryId(target);
        return { method: 'GET', url: `/v1/categories/${id}`, ref: id };
      },
    },
    'PATCH /v1/categories/:id': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 200,
      call: async (target) => {
        const id = await categoryId(target);
        return { method: 'PATCH', url: `/v1/categories/${id}`, body: { name: 'renamed' }, ref: id };
      },
    },
    'PUT /v1/categories/:id/accounts/:accountId': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 204,
      call: membership('PUT'),
    },
    'DELETE /v1/categories/:id/accounts/:accountId': {
      kind: 'hidden',
      who: ['admin'],
      ownStatus: 204,
      call: membership('DELETE'),
    },
    'GET /v1/categories/:id/balance': {
      kind: 'hidden',
      who: ALL,
      ownStatus: 200,
      call: async (target) => {
        const id = await categoryId(target);
        return { method: 'GET', url: `/v1/categories/${id}/balance`, ref: id };
      },
    },
    'GET /v1/audit/proofs/inclusion': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: async (target) => {
        await checkpointed(target);
        const id = await entryId(target);
        return { method: 'GET', url: `/v1/audit/proofs/inclusion?entryId=${id}`, ref: id };
      },
    },
    'GET /v1/audit/proofs/consistency': {
      kind: 'hidden',
      who: ['admin', 'auditor'],
      ownStatus: 200,
      call: filtered('/v1/audit/proofs/consistency?from=0', 'ledgerId'),
    },
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await adminToken(t);
    A = await books();
    B = await books();
    unlimited.admin = admin;
    unlimited.operator = (await user(['operator'])).token;
    unlimited.auditor = (await user(['auditor'])).token;
    for (const role of ALL) scoped[role] = (await user([role], [A.ledger.name])).token;
    for (const of of [A, B]) {
      await movement(of, false);
      await movement(of, true);
    }
    asOf = new Date().toISOString();
  });
  afterEach(async () => {
    expect(await ledgerViolations(t.databaseUrl)).toEqual([]);
  });
  afterAll(() => t.close());

  const send = (token: string, c: Call) =>
    t.request(c.method, c.url, { token, ...(c.body === undefined ? {} : { body: c.body }) });

  /** An answer as a caller compares it: the varying reference and the request id taken out. */
  function seen(res: { status: number; text: string }, ref: string | undefined): unknown {
    const text = ref === undefined ? res.text : res.text.split(ref).join('<ref>');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // CSV stays text.
    }
    if (typeof body === 'object' && body !== null) delete (body as { requestId?: unknown }).requestId;
    return { status: res.status, body };
  }

  it('has a probe for every route the application serves', () => {
    const served = routesOf(t.app).map((r) => `${r.method} ${r.path}`);
    expect(served.filter((r) => !(r in PROBES))).toEqual([]);
    expect(Object.keys(PROBES).filter((p) => !served.includes(p))).toEqual([]);
  });

  it('answers about another ledger exactly as about nothing, on every route, for each role that may call it', async () => {
    const failures: string[] = [];
    for (const { method, path } of routesOf(t.app)) {
      const route = `${method} ${path}`;
      const probe = PROBES[route]!;
      if (probe.kind !== 'hidden') continue;
      for (const role of probe.who) {
        const own = await send(scoped[role], await probe.call('own'));
        if (own.status !== probe.ownStatus) failures.push(`${route} ${role} own: ${own.status} ${own.text}`);
        const other = await probe.call('other');
        const unknown = await probe.call('unknown');
        const a = seen(await send(scoped[role], other), other.ref);
        const b = seen(await send(scoped[role], unknown), unknown.ref);
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          failures.push(`${route} ${role}: other ${JSON.stringify(a)} ≠ unknown ${JSON.stringify(b)}`);
        }
        // The same request from a caller that sees every ledger reaches the other ledger.
        const reach = await send(unlimited[role], await probe.call('other'));
        if (reach.status !== (probe.reachStatus ?? probe.ownStatus))
          failures.push(`${route} ${role} unlimited: ${reach.status} ${reach.text}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses the routes that reach across ledgers to a limited admin (403), not to an unlimited one', async () => {
    for (const [route, probe] of Object.entries(PROBES)) {
      if (probe.kind !== 'unlimited') continue;
      for (const role of probe.who) {
        const res = await send(scoped[role], probe.call());
        expect([route, res.status, res.body.code]).toEqual([route, 403, 'FORBIDDEN']);
        expect([route, (await send(unlimited[role], probe.call())).status]).not.toEqual([route, 403]);
      }
    }
  });

  it('leaves other ledgers out of every list, the journal, the export and the audit reports', async () => {
    for (const role of ['admin', 'auditor'] as const) {
      const token = scoped[role];
      const ids = (res: any): string[] => res.body.data.map((r: any) => r.ledgerId ?? r.id);
      const accounts = await t.request('GET', '/v1/accounts?limit=500', { token });
      expect(new Set(ids(accounts))).toEqual(new Set([A.ledger.id]));
      const transfers = await t.request('GET', '/v1/transfers?limit=500', { token });
      expect(new Set(ids(transfers))).toEqual(new Set([A.ledger.id]));
      const ledgers = await t.request('GET', '/v1/ledgers', { token });
      expect(ids(ledgers)).toEqual([A.ledger.id]);
      const entries = await t.request('GET', '/v1/ledger/entries?limit=500', { token });
      expect(entries.body.data.length).toBeGreaterThan(0);
      expect(new Set(ids(entries))).toEqual(new Set([A.ledger.id]));
      const ndjson = await t.request('GET', '/v1/ledger/export?format=ndjson', { token });
      const exported = ndjson.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).ledgerId as string);
      expect(exported.length).toBe(entries.body.data.length);
      expect(new Set(exported)).toEqual(new Set([A.ledger.id]));
      const trial = await t.request('GET', '/v1/audit/trial-balance', { token });
      expect(trial.body.currencies.map((c: any) => c.ledgerId)).toEqual([A.ledger.id]);
      const verify = await t.request('GET', '/v1/audit/verify', { token });
      const own = await t.request('GET', `/v1/audit/verify?ledgerId=${A.ledger.id}`, { token: admin });
      expect(verify.body).toEqual(own.body);
      expect(verify.body.checkedEntries).toBe(entries.body.data.length);
    }
  });

  it('refuses a batch with one transfer in another ledger as an unknown account (scoped) or a mismatch (unlimited), writing nothing', async () => {
    const before = await t.request('GET', `/v1/transfers?ledgerId=${A.ledger.id}&limit=500`, { token: admin });
    const body = {
      transfers: [
        { debitAccountId: A.source.id, creditAccountId: A.account.id, amount: '5', currency: 'USD' },
        { debitAccountId: A.source.id, creditAccountId: A.other.id, amount: '5', currency: 'USD' },
        { debitAccountId: A.source.id, creditAccountId: B.account.id, amount: '5', currency: 'USD' },
      ],
    };
    const limited = await t.request('POST', '/v1/transfers/batch', { token: scoped.operator, body });
    expect([limited.status, limited.body.code, limited.body.index]).toEqual([422, 'ACCOUNT_NOT_FOUND', 2]);
    expect(limited.body.detail).toBe(`account ${B.account.id} does not exist`);
    const open = await t.request('POST', '/v1/transfers/batch', { token: unlimited.operator, body });
    expect([open.status, open.body.code, open.body.index]).toEqual([422, 'LEDGER_MISMATCH', 2]);
    const after = await t.request('GET', `/v1/transfers?ledgerId=${A.ledger.id}&limit=500`, { token: admin });
    expect(after.body.data).toEqual(before.body.data);
  });

  it('does not reveal an externalId used in another ledger: the unknown account answers first', async () => {
    const externalId = `scoped-${randomUUID()}`;
    const body = (of: Books) => ({
      debitAccountId: of.source.id,
      creditAccountId: of.account.id,
      amount: '1',
      currency: 'USD',
      externalId,
    });
    expect((await t.request('POST', '/v1/transfers', { token: unlimited.operator, body: body(B) })).status).toBe(201);
    const hidden = await t.request('POST', '/v1/transfers', { token: scoped.operator, body: body(B) });
    expect([hidden.status, hidden.body.code]).toEqual([422, 'ACCOUNT_NOT_FOUND']);
    // In its own ledger the same externalId is free.
    expect((await t.request('POST', '/v1/transfers', { token: scoped.operator, body: body(A) })).status).toBe(201);
  });

  it('opens an account in the caller’s only ledger when the request names none', async () => {
    const res = await t.request('POST', '/v1/accounts', {
      token: scoped.operator,
      body: { currency: 'USD', normalBalance: 'credit' },
    });
    expect([res.status, res.body.ledgerId]).toEqual([201, A.ledger.id]);
    const open = await t.request('POST', '/v1/accounts', {
      token: unlimited.operator,
      body: { currency: 'USD', normalBalance: 'credit' },
    });
    expect(open.body.ledgerId).toBe('00000000-0000-4000-8000-000000000001');
  });

  describe('users limited to ledgers', () => {
    it('shows the limit in the user and in /v1/auth/me, and none for an unlimited user', async () => {
      const me = await t.request('GET', '/v1/auth/me', { token: scoped.operator });
      expect(me.body).toMatchObject({ roles: ['operator'], ledgers: [A.ledger.id] });
      const user = await t.request('GET', `/v1/users/${me.body.id}`, { token: admin });
      expect(user.body.ledgers).toEqual([A.ledger.id]);
      expect((await t.request('GET', '/v1/auth/me', { token: unlimited.operator })).body.ledgers).toBeNull();
    });

    it('takes ledgers by id or name, refuses an empty list (400) and an unknown ledger (422)', async () => {
      const both = await user(['auditor'], [A.ledger.name, B.ledger.id]);
      const me = await t.request('GET', '/v1/auth/me', { token: both.token });
      expect(me.body.ledgers).toEqual([A.ledger.id, B.ledger.id].sort());
      const base = { username: unique('u'), password: 'a-long-enough-password', roles: ['auditor'] };
      const empty = await t.request('POST', '/v1/users', { token: admin, body: { ...base, ledgers: [] } });
      expect([empty.status, empty.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      const unknown = await t.request('POST', '/v1/users', { token: admin, body: { ...base, ledgers: ['nowhere-1'] } });
      expect([unknown.status, unknown.body.code, unknown.body.detail]).toEqual([
        422,
        'LEDGER_NOT_FOUND',
        'ledger nowhere-1 does not exist',
      ]);
    });

    it('reaches existing tokens within 5 seconds when the limit changes, and null lifts it', async () => {
      const u = await user(['auditor'], [A.ledger.id]);
      const url = `/v1/accounts/${B.account.id}`;
      expect((await t.request('GET', url, { token: u.token })).status).toBe(404);
      const patch = await t.request('PATCH', `/v1/users/${u.id}`, { token: admin, body: { ledgers: [B.ledger.name] } });
      expect(patch.body.ledgers).toEqual([B.ledger.id]);
      const started = Date.now();
      while ((await t.request('GET', url, { token: u.token })).status !== 200) {
        expect(Date.now() - started).toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await t.request('GET', `/v1/accounts/${A.account.id}`, { token: u.token })).status).toBe(404);
      const lifted = await t.request('PATCH', `/v1/users/${u.id}`, { token: admin, body: { ledgers: null } });
      expect(lifted.body.ledgers).toBeNull();
      // Absent leaves the limit as it is.
      const unchanged = await t.request('PATCH', `/v1/users/${u.id}`, { token: admin, body: { disabled: false } });
      expect(unchanged.body.ledgers).toBeNull();
    });
  });
});
