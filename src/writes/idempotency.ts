import { isLedgerErrorCode, LedgerError } from '../core/errors.js';
import type { Tx } from './serializable.js';
import type { WriteRequest } from './write-request.js';

/**
 * What a write came to, as the write entrance hands it back: the use case's result, or the ledger's refusal.
 * A refusal keeps the id of the request that was refused, so that its replay names the first request, as the
 * first answer did.
 */
export type Outcome<T = unknown> =
  | {
      readonly value: T;
      readonly replayed: boolean;
      /**
       * The value as JSON, when it was rendered once to be stored under its key: the answer sends this text. A
       * caller that answers another value than the stored one builds a new outcome without it.
       */
      readonly json?: string;
    }
  | { readonly refusal: LedgerError; readonly requestId: string; readonly replayed: boolean };

/** How a refusal is kept under its key: the domain error, never a rendered HTTP body. */
interface StoredRefusal {
  code: string;
  detail: string;
  requestId: string;
  index?: number;
}

interface StoredRow {
  user_id: string;
  key: string;
  request_hash: string;
  response: unknown;
  refusal: StoredRefusal | null;
}

/** An outcome to record under its key, in the transaction of the effect it guards. */
export interface NewOutcome {
  userId: string;
  key: string;
  requestHash: string;
  /** The result as JSON text (null for a refusal). */
  response: string | null;
  refusal: StoredRefusal | null;
}

export interface StoredOutcome {
  requestHash: string;
  outcome: Outcome;
}

const keyOf = (userId: string, key: string): string => `${userId}\n${key}`;

/**
 * Idempotency for one group of writes, decided in the order the group runs its units: a key stored by an
 * earlier transaction replays its outcome, a key used earlier in this group replays that sibling's, and either
 * with a different request is `IDEMPOTENCY_KEY_REUSED`. The only place that knows these rules (SPEC section 2).
 */
export class GroupKeys {
  private readonly firstInGroup = new Map<string, { requestHash: string; outcome: Outcome }>();

  private constructor(private readonly stored: Map<string, StoredOutcome>) {}

  /** Looks up every key of the group in one statement (sent at once: the transaction's statements are pipelined). */
  static async read(tx: Tx, requests: readonly WriteRequest[]): Promise<GroupKeys> {
    const keys = requests.flatMap((r) => (r.key === undefined ? [] : [{ userId: r.userId, key: r.key }]));
    const stored = new Map<string, StoredOutcome>();
    if (keys.length > 0) {
      const rows = await tx.query<StoredRow>(
        `SELECT k.user_id, k.key, k.request_hash, k.response, k.refusal
         FROM idempotency_keys k JOIN unnest($1::uuid[], $2::text[]) AS q(user_id, key) USING (user_id, key)`,
        [keys.map((k) => k.userId), keys.map((k) => k.key)],
        'find_outcomes',
      );
      for (const r of rows) {
        stored.set(keyOf(r.user_id, r.key), { requestHash: r.request_hash, outcome: storedOutcome(r) });
      }
    }
    return new GroupKeys(stored);
  }

  /** The answer a request gets without running, or undefined when it is to run. */
  answered(w: WriteRequest): Outcome | undefined {
    if (w.key === undefined) return undefined;
    const key = keyOf(w.userId, w.key);
    const earlier = this.stored.get(key) ?? this.firstInGroup.get(key);
    if (earlier === undefined) return undefined;
    if (earlier.requestHash !== w.requestHash) {
      return {
        refusal: new LedgerError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request'),
        requestId: w.requestId,
        replayed: false,
      };
    }
    return { ...earlier.outcome, replayed: true };
  }

  /**
   * Records a fresh outcome; returns the row to store under its key, if it has one, and the outcome to answer: a
   * result is rendered to JSON once, for both.
   */
  ran(w: WriteRequest, fresh: Outcome): { row?: NewOutcome; outcome: Outcome } {
    if (w.key === undefined) return { outcome: fresh };
    const json = 'refusal' in fresh ? null : JSON.stringify(fresh.value);
    const outcome = json === null ? fresh : Object.assign({}, fresh, { json });
    this.firstInGroup.set(keyOf(w.userId, w.key), { requestHash: w.requestHash, outcome });
    const row = {
      userId: w.userId,
      key: w.key,
      requestHash: w.requestHash,
      response: json,
      refusal: 'refusal' in fresh ? refusalOf(fresh.refusal, fresh.requestId) : null,
    };
    return { row, outcome };
  }
}

function refusalOf(error: LedgerError, requestId: string): StoredRefusal {
  return {
    code: error.code,
    detail: error.message,
    requestId,
    ...(error.index === undefined ? {} : { index: error.index }),
  };
}

function storedOutcome(r: StoredRow): Outcome {
  if (r.refusal === null) return { value: r.response, replayed: true };
  const { code, detail, index, requestId } = r.refusal;
  if (!isLedgerErrorCode(code)) throw new Error(`idempotency key ${r.key}: stored refusal has an unknown code ${code}`);
  return { refusal: new LedgerError(code, detail, index), requestId, replayed: true };
}

/** The INSERT of outcomes under their keys, with its parameters numbered from `$${first}`. */
export function outcomesInsert(rows: readonly NewOutcome[], first = 1): { sql: string; values: unknown[] } {
  const $ = (n: number): string => `$${first + n}`;
  return {
    sql: `INSERT INTO idempotency_keys (user_id, key, request_hash, response, refusal)
      SELECT * FROM unnest(${$(0)}::uuid[], ${$(1)}::text[], ${$(2)}::text[], ${$(3)}::json[], ${$(4)}::jsonb[])`,
    values: [
      rows.map((r) => r.userId),
      rows.map((r) => r.key),
      rows.map((r) => r.requestHash),
      rows.map((r) => r.response),
      rows.map((r) => (r.refusal === null ? null : JSON.stringify(r.refusal))),
    ],
  };
}
