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
> & {
  /** Its ledger's (SPEC 12), read with the lock. */
  closed_until?: Date | null;
};

const LOCKED_COLUMNS = `a.id, a.ledger_id, a.currency, a.normal_balance, a.allow_negative, a.status, a.debits_posted,
  a.credits_posted, a.debits_pending, a.credits_pending, a.version, a.last_hash, l.closed_until`;

export function countersOf(row: LockedAccountRow): Counters {
  return {
    debitsPosted: BigInt(row.debits_posted),
    creditsPosted: BigInt(row.credits_posted),
    debitsPending: BigInt(row.debits_pending),
    creditsPending: BigInt(row.credits_pending),
  };
}

export function stateOf(row: LockedAccountRow): AccountState {
  const closedUntil = row.closed_until?.toISOString() ?? null;
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    currency: row.currency,
    normalBalance: row.normal_balance,
    allowNegative: row.allow_negative,
    status: row.status,
    counters: countersOf(row),
    closedUntil,
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

/**
 * Locks accounts FOR UPDATE in ascending id order: every writer takes locks in one order, so none deadlock. Their
 * ledgers' rows are share-locked with them, for `closed_until` (SPEC 12): a close updates that row, so a write and a
 * close of one ledger never overlap whatever lane either took. The write waits for a close in flight, or a close
 * waits for the write; a write whose snapshot is older than a committed close fails with 40001 and is retried, and
 * then sees the new date. A share lock is not a write: writers of one ledger do not queue on it.
 */
export async function lockAccounts(tx: Tx, ids: Iterable<string>): Promise<Map<string, LockedAccountRow>> {
  const sorted = [...new Set(ids)].sort();
  const rows = await tx.query<LockedAccountRow>(
    `SELECT ${LOCKED_COLUMNS} FROM accounts a JOIN ledgers l ON l.id = a.ledger_id
     WHERE a.id = ANY($1::uuid[]) ORDER BY a.id FOR UPDATE OF a FOR SHARE OF l`,
    [sorted],
    'lock_accounts',
  );
  return new Map(rows.map((r) => [r.id, r]));
}
