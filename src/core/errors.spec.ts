import {
  AccountNotActive,
  AccountNotFound,
  BalanceOverflow,
  CurrencyMismatch,
  InsufficientFunds,
  LedgerError,
  SameAccount,
  withIndex,
} from './errors.js';

describe('LedgerError', () => {
  it('carries code, message, optional index and a name', () => {
    const e = new LedgerError('TRANSFER_NOT_PENDING', 'transfer t is posted');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('TRANSFER_NOT_PENDING');
    expect(e.message).toBe('transfer t is posted');
    expect(e.index).toBeUndefined();
    expect(e.name).toBe('LedgerError');
    expect(new LedgerError('NOT_FOUND', 'x', 3).index).toBe(3);
  });

  it.each<[LedgerError, string, string, string]>([
    [
      new InsufficientFunds('a1', 500n, 800n),
      'InsufficientFunds',
      'INSUFFICIENT_FUNDS',
      'account a1 has 500 available, 800 requested',
    ],
    [
      new InsufficientFunds('a1', -9007199254740993n, 9223372036854775807n),
      'InsufficientFunds',
      'INSUFFICIENT_FUNDS',
      'account a1 has -9007199254740993 available, 9223372036854775807 requested',
    ],
    [
      new BalanceOverflow('a1'),
      'BalanceOverflow',
      'BALANCE_OVERFLOW',
      'movement would overflow a balance counter of account a1',
    ],
    [new SameAccount(), 'SameAccount', 'SAME_ACCOUNT', 'debit and credit account must differ'],
    [
      new CurrencyMismatch('a1', 'USD', 'EUR'),
      'CurrencyMismatch',
      'CURRENCY_MISMATCH',
      'account a1 is in USD, transfer is in EUR',
    ],
    [new AccountNotActive('a1', 'frozen'), 'AccountNotActive', 'ACCOUNT_NOT_ACTIVE', 'account a1 is frozen'],
    [new AccountNotFound('a1'), 'AccountNotFound', 'ACCOUNT_NOT_FOUND', 'account a1 does not exist'],
  ])('%#: %s', (e, name, code, message) => {
    expect(e).toBeInstanceOf(LedgerError);
    expect(e.name).toBe(name);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });
});

describe('withIndex', () => {
  it('returns a copy carrying the index, leaving the original alone', () => {
    const e = new InsufficientFunds('a1', 5n, 8n);
    const c = withIndex(e, 7);
    expect(c).not.toBe(e);
    expect(c.index).toBe(7);
    expect(e.index).toBeUndefined();
    expect(c).toBeInstanceOf(InsufficientFunds);
    expect(c).toBeInstanceOf(LedgerError);
    expect(c.code).toBe('INSUFFICIENT_FUNDS');
    expect(c.message).toBe(e.message);
    expect(c.name).toBe('InsufficientFunds');
    expect((c as InsufficientFunds).available).toBe(5n);
  });

  it('replaces an existing index and accepts 0', () => {
    expect(withIndex(new LedgerError('NOT_FOUND', 'x', 3), 0).index).toBe(0);
  });
});
