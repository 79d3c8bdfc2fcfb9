import { LedgerError } from '../core/errors.js';
import type { Tx } from '../database/serializable.js';

/** What a creating request answered: replayed byte for byte to a retry with the same key. */
export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

interface StoredOutcome {
  user_id: string;
  key: string;
  request_hash: string;
  status: number;
  response: unknown;
}

export interface NewOutcome {
  userId: string;
  key: string;
  requestHash: string;
  status: number;
  body: unknown;
}

export const keyOf = (userId: string, key: string): string => `${userId}\n${key}`;

/** The stored outcomes of these (user, key) pairs, in one statement. */
export async function findOutcomes(
  tx: Tx,
  keys: { userId: string; key: string }[],
): Promise<Map<string, { requestHash: string; outcome: Outcome }>> {
  const found = new Map<string, { requestHash: string; outcome: Outcome }>();
  if (keys.length === 0) return found;
  const rows = await tx.query<StoredOutcome>(
    `SELECT k.user_id, k.key, k.request_hash, k.status, k.response
     FROM idempotency_keys k JOIN unnest($1::uuid[], $2::text[]) AS q(user_id, key) USING (user_id, key)`,
    [keys.map((k) => k.userId), keys.map((k) => k.key)],
    'find_outcomes',
  );
  for (const r of rows) {
    found.set(keyOf(r.user_id, r.key), {
      requestHash: r.request_hash,
      outcome: { status: r.status, body: r.response, replayed: true },
    });
  }
  return found;
}

/** The replay of a stored outcome, or the refusal when the key was used for another request. */
export function replay(stored: { requestHash: string; outcome: Outcome }, requestHash: string): Outcome {
  if (stored.requestHash !== requestHash) {
    throw new LedgerError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
  }
  return { ...stored.outcome, replayed: true };
}

/** The INSERT of outcomes under their keys, with its parameters numbered from `$${first}`. */
export function outcomesInsert(rows: NewOutcome[], first = 1): { sql: string; values: unknown[] } {
  const $ = (n: number): string => `$${first + n}`;
  return {
    sql: `INSERT INTO idempotency_keys (user_id, key, request_hash, status, response)
      SELECT * FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::text[], ${$(3)}::smallint[], ${$(4)}::json[])`,
    values: [
      rows.map((r) => r.userId),
      rows.map((r) => r.key),
      rows.map((r) => r.requestHash),
      rows.map((r) => r.status),
      rows.map((r) => JSON.stringify(r.body)),
    ],
  };
}

/** Records outcomes under their keys, in the transaction of the effect they guard. */
export async function storeOutcomes(tx: Tx, rows: NewOutcome[]): Promise<void> {
  if (rows.length === 0) return;
  const insert = outcomesInsert(rows);
  await tx.query(insert.sql, insert.values);
}
