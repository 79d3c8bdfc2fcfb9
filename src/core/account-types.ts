import type { Side } from './balances.js';

/** An account's place in the chart of accounts (SPEC 12); an account without one is `unclassified` in reports. */
export const ACCOUNT_TYPES = ['asset', 'liability', 'equity', 'revenue', 'expense'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** Assets and expenses grow by debits, the rest by credits: the accounting equation, read left and right. */
export function normalBalanceOf(type: AccountType): Side {
  return type === 'asset' || type === 'expense' ? 'debit' : 'credit';
}
