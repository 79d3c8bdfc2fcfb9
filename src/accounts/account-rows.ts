import type { AccountType } from '../core/account-types.js';
import { type AccountState, type AccountStatus, balancesView, type Counters, type Side } from '../core/balances.js';
import type { Tx } from '../writes/serializable.js';
import type { Actor } from '../writes/write-request.js';
import type { AccountView } from './accounts.dto.js';

/** An `accounts` row as pg returns it: bigint columns arrive as strings and become bigint here. */
export interface AccountRow {
  id: string;
  seq: string;
  ledger_id: string;
  currency: string;
  normal_balance: Side;
  type: AccountType | null;
  allow_negative: boolean;
  status: AccountStatus;
  name: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  debits_posted: string;
  credits_posted: string;
  debits_pending: string;
  credits_pending: string;
  version: string;
  last_hash: string;
  created_by: Actor | null;
  created_at: Date;
  updated_at: Date;
}

export const ACCOUNT_COLUMNS = `id, seq, ledger_id, currency, normal_balance, type, allow_negative, status, name, external_id, metadata,
  debits_posted, credits_posted, debits_pending, credits_pending, version, last_hash, created_by, created_at, updated_at`;

/** What the write path reads of an account it locks: no names, metadata or timestamps to parse on every group. */
export type LockedAccountRow = Pick<
  AccountRow,
  | 'id'
  | 'ledger_id'
  | 'currency'
  | 'normal_balance'
  | 'allow_negative'
  | 'status'
  | 'debits_posted'
  | 'credits_posted'
  | 'debits_pending'
  | 'credits_pending'
  | 'version'
  | 'last_hash'
>;

const LOCKED_COLUMNS = `id, ledger_id, currency, normal_balance, allow_negative, status, debits_posted, credits_posted, debits_pending,
  credits_pending, version, last_hash`;

export function countersOf(row: LockedAccountRow): Counters {
  return {
    debitsPosted: BigInt(row.debits_posted),
    creditsPosted: BigInt(row.credits_posted),
    debitsPending: BigInt(row.debits_pending),
    creditsPending: BigInt(row.credits_pending),
  };
}

export function stateOf(row: LockedAccountRow): AccountState {
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    currency: row.currency,
    normalBalance: row.normal_balance,
    allowNegative: row.allow_negative,
    status: row.status,
    counters: countersOf(row),
  };
}

export function accountView(row: AccountRow): AccountView {
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    currency: row.currency,
    normalBalance: row.normal_balance,
    type: row.type ?? 'unclassified',
    allowNegative: row.allow_negative,
    status: row.status,
    name: row.name,
    externalId: row.external_id,
    metadata: row.metadata,
    balances: balancesView(row.normal_balance, countersOf(row)),
    // An account would need 2^53 entries before this number lost precision.
    version: Number(row.version),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Locks accounts FOR UPDATE in ascending id order: every writer takes locks in one order, so none deadlock. */
export async function lockAccounts(tx: Tx, ids: Iterable<string>): Promise<Map<string, LockedAccountRow>> {
  const sorted = [...new Set(ids)].sort();
  const rows = await tx.query<LockedAccountRow>(
    `SELECT ${LOCKED_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    [sorted],
    'lock_accounts',
  );
  return new Map(rows.map((r) => [r.id, r]));
}
