import type { Actor } from '../writes/write-request.js';
import type { LogRecordView } from './admin-log-chain.js';

export interface AdminLogRow {
  seq: string;
  id: string;
  at: Date;
  actor: Actor;
  action: string;
  resource_type: string;
  resource_id: string;
  ledger_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string;
  prev_hash: string;
  hash: string;
}

export const ADMIN_LOG_COLUMNS = `seq, id, at, actor, action, resource_type, resource_id, ledger_id, before, after, request_id,
  prev_hash, hash`;

/** A record as the API shows it and its hash covers (with the hashes): the same members, in the SPEC's order. */
export function recordView(row: AdminLogRow): LogRecordView {
  return {
    id: row.id,
    seq: row.seq,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    ledgerId: row.ledger_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
