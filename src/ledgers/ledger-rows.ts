import { LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import type { Tx } from '../writes/serializable.js';
import type { LedgerView } from './ledgers.dto.js';
import { isUuidShaped } from '../common/validators.js';

export interface LedgerRow {
  id: string;
  seq: string;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
  closed_until: Date | null;
  created_by: LedgerView['createdBy'];
  created_at: Date;
}

export const LEDGER_COLUMNS = 'id, seq, name, description, metadata, closed_until, created_by, created_at';

export function ledgerView(row: LedgerRow): LedgerView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    metadata: row.metadata,
    closedUntil: row.closed_until?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

/** The ledger named by an id or a name (a name is never shaped like a UUID), or undefined. */
export async function findLedger(
  query: (text: string, values: unknown[]) => Promise<LedgerRow[]>,
  idOrName: string,
): Promise<LedgerRow | undefined> {
  const column = isUuidShaped(idOrName) ? 'id' : 'name';
  const [row] = await query(`SELECT ${LEDGER_COLUMNS} FROM ledgers WHERE ${column} = $1`, [idOrName]);
  return row;
}

/** Inside a write: the ledger, read in the write's transaction. */
export const findLedgerIn = (tx: Tx, idOrName: string): Promise<LedgerRow | undefined> =>
  findLedger((text, values) => tx.query<LedgerRow>(text, values), idOrName);

/**
 * The id of the ledger that the text parameter `$n` names (by id or name), for a `?ledgerId=` filter: an unknown
 * ledger matches nothing, as an unknown id in any other filter.
 */
export const ledgerByRef = (n: number): string => `SELECT id FROM ledgers WHERE id::text = $${n} OR name = $${n}`;

/**
 * The one condition by which every query over ledger data keeps to the caller's ledgers (SPEC 9): `$n` is the
 * scope's `ids` (NULL: every ledger). Rows outside never leave the database, so no route can forget to drop them.
 */
export const inScope = (column: string, n: number): string =>
  `($${n}::uuid[] IS NULL OR ${column} = ANY($${n}::uuid[]))`;

/**
 * The ledger a read is about: the one named (by id or name), else the caller's only ledger, else `default`; one
 * the caller does not see is one that does not exist (404).
 */
export async function seenLedgerId(
  query: (text: string, values: unknown[]) => Promise<{ id: string }[]>,
  ref: string | undefined,
  scope: LedgerScope,
): Promise<string> {
  const name = ref ?? scope.implicitLedger ?? 'default';
  const [row] = await query(`SELECT id FROM ledgers WHERE id = (${ledgerByRef(1)}) AND ${inScope('id', 2)}`, [
    name,
    scope.ids,
  ]);
  if (row === undefined) throw new LedgerError('NOT_FOUND', `ledger ${name} does not exist`);
  return row.id;
}

/** The ids of the ledgers named (by id or name), sorted; a name or id that is no ledger is refused. */
export async function ledgerIdsIn(tx: Tx, refs: string[] | null): Promise<string[] | null> {
  if (refs === null) return null;
  const rows = await tx.query<{ id: string; name: string }>(
    `SELECT id, name FROM ledgers WHERE id::text = ANY($1::text[]) OR name = ANY($1::text[])`,
    [refs],
  );
  const missing = refs.find((ref) => !rows.some((r) => r.id === ref || r.name === ref));
  if (missing !== undefined) throw new LedgerError('LEDGER_NOT_FOUND', `ledger ${missing} does not exist`);
  return [...new Set(rows.map((r) => r.id))].sort();
}
