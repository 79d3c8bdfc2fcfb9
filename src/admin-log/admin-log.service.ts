import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import { GENESIS_HASH, type LogRecordView, recordHash } from './admin-log-chain.js';
import type { AdminLogQuery } from './admin-log.dto.js';
import { ADMIN_LOG_COLUMNS, type AdminLogRow, recordView } from './admin-log-rows.js';

/** A page of the log in `seq` order; every filter is optional (null). A caller limited to ledgers sees their records only. */
export const ADMIN_LOG_LIST_SQL = `SELECT ${ADMIN_LOG_COLUMNS} FROM admin_log
  WHERE ($1::bigint IS NULL OR seq > $1::bigint)
    AND ($2::text IS NULL OR ledger_id = (${ledgerByRef(2)})) AND ${inScope('ledger_id', 3)}
    AND ($4::text IS NULL OR actor ->> 'id' = $4) AND ($5::text IS NULL OR action = $5)
    AND ($6::text IS NULL OR resource_type = $6) AND ($7::text IS NULL OR resource_id = $7)
    AND ($8::timestamptz IS NULL OR at >= $8) AND ($9::timestamptz IS NULL OR at < $9)
  ORDER BY seq LIMIT $10`;

@Injectable()
export class AdminLogService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Appends commit in `seq` order (each holds the log's writer lock until it has committed), so a page read by
   * `seq` never skips a record that commits later: no horizon is needed, unlike the journal's.
   */
  async list(q: AdminLogQuery, scope: LedgerScope): Promise<Page<LogRecordView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<AdminLogRow[]>(ADMIN_LOG_LIST_SQL, [
      after,
      q.ledgerId ?? null,
      scope.ids,
      q.actorId ?? null,
      q.action ?? null,
      q.resourceType ?? null,
      q.resourceId ?? null,
      q.from ?? null,
      q.to ?? null,
      q.limit + 1,
    ]);
    return toPage(rows, q.limit, recordView, (r) => [r.seq]);
  }
}

export interface LogProblem {
  code: 'LOG_HASH_MISMATCH' | 'LOG_GAP';
  logSeq: string;
  detail: string;
}

const VERIFY_BATCH = 5000;

/**
 * Walks the whole chain in `seq` order, in the caller's snapshot, recomputing every hash (SPEC 10): a record
 * whose hash is not that of its contents, or whose prevHash is not the hash before it, is LOG_HASH_MISMATCH; a
 * missing `seq` is LOG_GAP. The whole chain is checked for everyone, but a caller limited to ledgers (or asking
 * about one) is told only of its ledgers' records, and of gaps not at all: they belong to no ledger.
 */
export async function logProblems(
  c: PoolClient,
  ledgers: readonly string[] | null,
  whole: boolean,
): Promise<{ checked: number; problems: LogProblem[] }> {
  const problems: LogProblem[] = [];
  const shown = (row: AdminLogRow): boolean =>
    whole || (row.ledger_id !== null && (ledgers === null || ledgers.includes(row.ledger_id)));
  let expectedSeq = 1n;
  let previousHash = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const { rows } = await c.query<AdminLogRow>(
      `SELECT ${ADMIN_LOG_COLUMNS} FROM admin_log WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [expectedSeq.toString(), VERIFY_BATCH],
    );
    for (const row of rows) {
      const seq = BigInt(row.seq);
      if (seq !== expectedSeq && whole) {
        const missing = seq - 1n === expectedSeq ? `${expectedSeq}` : `${expectedSeq} to ${seq - 1n}`;
        problems.push({ code: 'LOG_GAP', logSeq: expectedSeq.toString(), detail: `records ${missing} are missing` });
      }
      const { prevHash, hash, ...body } = recordView(row);
      if (shown(row)) {
        checked++;
        // After a gap the record before is missing, and its link cannot be checked: the gap is the problem.
        if (seq === expectedSeq && prevHash !== previousHash) {
          problems.push({
            code: 'LOG_HASH_MISMATCH',
            logSeq: row.seq,
            detail: "prevHash is not the previous record's hash",
          });
        } else if (recordHash(prevHash, body) !== hash) {
          problems.push({ code: 'LOG_HASH_MISMATCH', logSeq: row.seq, detail: 'hash is not that of the record' });
        }
      }
      expectedSeq = seq + 1n;
      previousHash = hash;
    }
    if (rows.length < VERIFY_BATCH) return { checked, problems };
  }
}
