import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Tx } from '../writes/serializable.js';
import type { Actor } from '../writes/write-request.js';

export const RESOURCE_TYPES = [
  'user',
  'apiKey',
  'account',
  'ledger',
  'category',
  'webhook',
  'monitor',
  'login',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export const VERBS = ['created', 'updated', 'revoked', 'deleted', 'closed', 'refused', 'rateLimited'] as const;
export type LogAction = `${ResourceType}.${(typeof VERBS)[number]}`;

/** The first record's `prevHash`. */
export const GENESIS_HASH = '0'.repeat(64);

/** A change a use case reports to the write entrance, which logs it with the request's actor in the same transaction. */
export interface Change {
  action: LogAction;
  resourceId: string;
  ledgerId: string | null;
  /** The resource as its GET shows it, before and after; null before a creation. Never a secret. */
  before: unknown;
  after: unknown;
}

/** What a record's hash covers: the record exactly as `GET /v1/audit/log` shows it, without its two hashes. */
export interface LogRecordBody {
  id: string;
  seq: string;
  at: string;
  actor: Actor;
  action: string;
  resourceType: string;
  resourceId: string;
  ledgerId: string | null;
  before: unknown;
  after: unknown;
  requestId: string;
}

export interface LogRecordView extends LogRecordBody {
  prevHash: string;
  hash: string;
}

/**
 * SPEC 10: lowercase hex SHA-256 of `prevHash + "\n" + JCS(record)`, JCS being RFC 8785 (the `canonicalize`
 * package, by one of its authors), so anyone can recompute it from the API's JSON with any conforming library.
 */
export function recordHash(prevHash: string, record: LogRecordBody): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalize(record)}`)
    .digest('hex');
}

/** One change to append, with who asked for it. */
export interface LogAppend {
  change: Change;
  actor: Actor;
  requestId: string;
}

/**
 * Appends records after the log's last, inside the caller's transaction, which holds the log's writer lock
 * (`LOG_LOCK`) from before its snapshot, so the last record read here is the last there is. The values are
 * stored as the JSON the hash covers: what goes in is what the API shows and the auditor recomputes.
 */
export async function appendToLog(tx: Tx, appends: readonly LogAppend[]): Promise<void> {
  if (appends.length === 0) return;
  const [last] = await tx.query<{ seq: string; hash: string }>(
    'SELECT seq, hash FROM admin_log ORDER BY seq DESC LIMIT 1',
    [],
    'log_tail',
  );
  let seq = BigInt(last?.seq ?? 0);
  let prevHash = last?.hash ?? GENESIS_HASH;
  const at = new Date().toISOString();
  const records = appends.map(({ change, actor, requestId }): LogRecordView => {
    seq += 1n;
    const body: LogRecordBody = {
      id: randomUUID(),
      seq: seq.toString(),
      at,
      actor: asJson(actor) as Actor,
      action: change.action,
      resourceType: change.action.slice(0, change.action.indexOf('.')),
      resourceId: change.resourceId,
      ledgerId: change.ledgerId,
      before: asJson(change.before),
      after: asJson(change.after),
      requestId,
    };
    const hash = recordHash(prevHash, body);
    const record = { ...body, prevHash, hash };
    prevHash = hash;
    return record;
  });
  tx.write(
    `INSERT INTO admin_log (seq, id, at, actor, action, resource_type, resource_id, ledger_id, before, after,
       request_id, prev_hash, hash)
     SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::jsonb[], $5::text[], $6::text[],
       $7::text[], $8::uuid[], $9::jsonb[], $10::jsonb[], $11::text[], $12::text[], $13::text[])`,
    [
      records.map((r) => r.seq),
      records.map((r) => r.id),
      records.map((r) => r.at),
      records.map((r) => JSON.stringify(r.actor)),
      records.map((r) => r.action),
      records.map((r) => r.resourceType),
      records.map((r) => r.resourceId),
      records.map((r) => r.ledgerId),
      records.map((r) => (r.before === null ? null : JSON.stringify(r.before))),
      records.map((r) => (r.after === null ? null : JSON.stringify(r.after))),
      records.map((r) => r.requestId),
      records.map((r) => r.prevHash),
      records.map((r) => r.hash),
    ],
  );
}

/** The value as JSON gives it back (no undefined members): what is stored, shown and hashed is one thing. */
function asJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
