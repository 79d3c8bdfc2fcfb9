import { ACCOUNT_TYPES, normalBalanceOf } from './account-types.js';

describe('account types', () => {
  it('make assets and expenses debit-normal, liabilities, equity and revenue credit-normal', () => {
    expect(Object.fromEntries(ACCOUNT_TYPES.map((t) => [t, normalBalanceOf(t)]))).toEqual({
      asset: 'debit',
      liability: 'credit',
      equity: 'credit',
      revenue: 'credit',
      expense: 'debit',
    });
  });
});
