import { randomUUID } from 'node:crypto';
import type { TestApp } from './app.js';

export interface AccountOptions {
  currency?: string;
  normalBalance?: 'debit' | 'credit';
  allowNegative?: boolean;
  externalId?: string;
  name?: string;
  ledgerId?: string;
  metadata?: Record<string, string>;
}

export async function createAccount(t: TestApp, token: string, options: AccountOptions = {}): Promise<any> {
  const res = await t.request('POST', '/v1/accounts', {
    token,
    body: { currency: 'USD', normalBalance: 'credit', ...options },
  });
  if (res.status !== 201) throw new Error(`account creation failed: ${res.status} ${res.text}`);
  return res.body;
}

export function transfer(t: TestApp, token: string, body: Record<string, unknown>, key?: string) {
  return t.request('POST', '/v1/transfers', {
    token,
    body: { currency: 'USD', ...body },
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
}

/** A funding account (allowNegative, debit-normal) and a helper to give any account money. */
export async function fundingSource(t: TestApp, token: string, currency = 'USD', ledgerId?: string) {
  const source = await createAccount(t, token, {
    currency,
    ...(ledgerId === undefined ? {} : { ledgerId }),
    normalBalance: 'debit',
    allowNegative: true,
    name: 'funding',
  });
  return {
    source,
    async fund(accountId: string, amount: string): Promise<void> {
      const res = await transfer(t, token, { debitAccountId: source.id, creditAccountId: accountId, amount, currency });
      if (res.status !== 201) throw new Error(`funding failed: ${res.status} ${res.text}`);
    },
  };
}

export async function balances(t: TestApp, token: string, id: string): Promise<Record<string, string>> {
  const res = await t.request('GET', `/v1/accounts/${id}`, { token });
  return res.body.balances;
}

export const newKey = (): string => randomUUID();
