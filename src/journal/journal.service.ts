import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { ENTRY_COLUMNS, type EntryRow, entryView } from './entry-rows.js';
import type { EntryListQuery, EntryView } from './journal.dto.js';

@Injectable()
export class JournalService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** An account's entries in accountVersion order; versions are gap-free, so paging by version never skips. */
  async accountEntries(accountId: string, q: EntryListQuery): Promise<Page<EntryView>> {
    const after = decodeCursor(q.cursor, 1)?.[0] ?? null;
    const rows = await this.db.query<EntryRow[]>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries
       WHERE account_id = $1 AND ($2::bigint IS NULL OR account_version > $2::bigint)
         AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
       ORDER BY account_version LIMIT $5`,
      [accountId, after, q.from ?? null, q.to ?? null, q.limit + 1],
    );
    return toPage(rows, q.limit, entryView, (r) => [r.account_version]);
  }
}
