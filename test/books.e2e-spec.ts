import { startTestApp, type TestApp } from './support/app.js';
import { tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';

describe('the books (SPEC 12)', () => {
  let t: TestApp;
  let op: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ operator: op } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  const open = (body: Record<string, unknown>) =>
    t.request('POST', '/v1/accounts', { token: op, body: { currency: 'USD', ...body } });

  describe('account types', () => {
    it('give assets and expenses a debit normal balance, the others a credit one, when it is left out', async () => {
      for (const [type, side] of [
        ['asset', 'debit'],
        ['liability', 'credit'],
        ['equity', 'credit'],
        ['revenue', 'credit'],
        ['expense', 'debit'],
      ] as const) {
        const res = await open({ type });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ type, normalBalance: side });
        const agreeing = await open({ type, normalBalance: side });
        expect(agreeing.body).toMatchObject({ type, normalBalance: side });
        expect((await t.request('GET', `/v1/accounts/${res.body.id}`, { token: op })).body.type).toBe(type);
      }
    });

    it('refuses a normal balance that contradicts the type, an unknown type, and neither given (400)', async () => {
      for (const body of [
        { type: 'asset', normalBalance: 'credit' },
        { type: 'revenue', normalBalance: 'debit' },
        { type: 'income' },
        { type: 'unclassified', normalBalance: 'debit' },
        {},
      ]) {
        const res = await open(body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({
          body,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
      }
      const contradiction = await open({ type: 'asset', normalBalance: 'credit' });
      expect(contradiction.body.errors).toEqual([
        { field: 'normalBalance', message: expect.stringContaining('debit-normal') },
      ]);
    });

    it('shows an account without a type as unclassified, as accounts made before types are', async () => {
      const res = await open({ normalBalance: 'credit' });
      expect(res.body.type).toBe('unclassified');
    });

    it('is held by the database too: a type and a normal balance that disagree cannot be stored', async () => {
      const res = await open({ type: 'asset' });
      const db = await connect(t.databaseUrl);
      try {
        await expect(db.query(`UPDATE accounts SET type = 'revenue' WHERE id = $1`, [res.body.id])).rejects.toThrow(
          /accounts_type_check/,
        );
      } finally {
        await db.end();
      }
    });
  });
});
