import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AccountRow } from '../accounts/account-rows.js';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { checkout, poolOf } from '../database/pooled-client.js';
import { serviceUnavailable } from '../http/problem.js';
import { postedBalance } from '../core/balances.js';
import { countersAt, ENTRY_COLUMNS, type EntryRow, entryView, justBefore } from './entry-rows.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import { journalHorizon } from './journal-horizon.js';
import type {
  BalanceAsOfView,
  EntryListQuery,
  EntryView,
  ExportQuery,
  JournalQuery,
  StatementView,
} from './entries.dto.js';

const EXPORT_FIELDS = [
  'id',
  'seq',
  'transferId',
  'accountId',
  'currency',
  'direction',
  'amount',
  'accountVersion',
  'balanceAfter',
  'createdAt',
  'prevHash',
  'hash',
  'ledgerId',
  'effectiveAt',
] as const;
const FETCH_ROWS = 1000;
// Each export holds a pooled connection for as long as its client reads: cap them so writes always have some.
const MAX_CONCURRENT_EXPORTS = 3;

interface Running {
  debits: string;
  credits: string;
  version: string;
}

/** A page of an account's entries (`accountEntries`): $6 is the account's ledger, $1 the account. */
export const ACCOUNT_ENTRIES_SQL = `SELECT ${ENTRY_COLUMNS} FROM ledger_entries
  WHERE ledger_id = $6 AND account_id = $1 AND ($2::bigint IS NULL OR account_version > $2::bigint)
    AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
    AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
  ORDER BY account_version LIMIT $5`;

@Injectable()
export class EntriesService {
  private exportsRunning = 0;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * An account's entries in accountVersion order; versions commit in order under the account lock. Read along
   * the key `ledger_entries_account_version_key` (ledger_id, account_id, account_version): the account's ledger
   * leads it.
   */
  async accountEntries(account: Pick<AccountRow, 'id' | 'ledger_id'>, q: EntryListQuery): Promise<Page<EntryView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<EntryRow[]>(ACCOUNT_ENTRIES_SQL, [
      account.id,
      after,
      q.from ?? null,
      q.to ?? null,
      q.limit + 1,
      account.ledger_id,
    ]);
    return toPage(rows, q.limit, entryView, (r) => [r.account_version]);
  }

  /** The whole journal in seq order, only up to the horizon, so paging (or tailing) never skips an entry. */
  async entries(q: JournalQuery, scope: LedgerScope): Promise<Page<EntryView>> {
    const after = q.cursor ?? '0';
    const horizon = await journalHorizon(this.db);
    if (horizon === undefined) return { data: [], nextCursor: null };
    const rows = await this.db.query<EntryRow[]>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries
       WHERE seq > $1::bigint AND seq <= $2::bigint
         AND ($3::uuid IS NULL OR account_id = $3) AND ($4::uuid IS NULL OR transfer_id = $4)
         AND ($5::text IS NULL OR currency = $5)
         AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
         AND ($9::text IS NULL OR ledger_id = (${ledgerByRef(9)})) AND ${inScope('ledger_id', 10)}
       ORDER BY seq LIMIT $8`,
      [
        after,
        horizon.toString(),
        q.accountId ?? null,
        q.transferId ?? null,
        q.currency ?? null,
        q.from ?? null,
        q.to ?? null,
        q.limit + 1,
        q.ledgerId ?? null,
        scope.ids,
      ],
    );
    const page = rows.slice(0, q.limit);
    return {
      data: page.map(entryView),
      nextCursor: rows.length > q.limit ? (page[page.length - 1]?.seq ?? null) : null,
    };
  }

  /**
   * Every matching entry, streamed from a server-side cursor inside one REPEATABLE READ snapshot. Rows are
   * fetched only as fast as the client reads them, so memory stays flat however large the journal is.
   */
  export(q: ExportQuery, scope: LedgerScope): Readable {
    if (this.exportsRunning >= MAX_CONCURRENT_EXPORTS) {
      throw serviceUnavailable(`at most ${MAX_CONCURRENT_EXPORTS} exports run at once; retry shortly`, 5);
    }
    this.exportsRunning++;
    const done = (): void => void this.exportsRunning--;
    const pool = poolOf(this.db);
    const params = [
      q.accountId ?? null,
      q.currency ?? null,
      q.from ?? null,
      q.to ?? null,
      q.ledgerId ?? null,
      scope.ids,
    ];
    async function* lines(): AsyncGenerator<string> {
      const { client, release } = await checkout(pool);
      let finished = false;
      let broken = false;
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        // A slow reader may leave the transaction idle between fetches for a while.
        await client.query(`SET LOCAL idle_in_transaction_session_timeout = '15min'`);
        await client.query(
          `DECLARE export_cursor NO SCROLL CURSOR FOR SELECT ${ENTRY_COLUMNS} FROM ledger_entries
           WHERE ($1::uuid IS NULL OR account_id = $1) AND ($2::text IS NULL OR currency = $2)
             AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
             AND ($5::text IS NULL OR ledger_id = (${ledgerByRef(5)})) AND ${inScope('ledger_id', 6)}
           ORDER BY seq`,
          params,
        );
        if (q.format === 'csv') yield `${EXPORT_FIELDS.join(',')}\n`;
        for (;;) {
          const { rows } = await client.query<EntryRow>(`FETCH ${FETCH_ROWS} FROM export_cursor`);
          if (rows.length === 0) break;
          let chunk = '';
          for (const row of rows) {
            const view = entryView(row);
            chunk +=
              q.format === 'csv'
                ? `${EXPORT_FIELDS.map((f) => csvField(String(view[f]))).join(',')}\n`
                : `${JSON.stringify(view)}\n`;
          }
          yield chunk;
        }
        await client.query('COMMIT');
        finished = true;
      } finally {
        // Also reached when the client disconnects mid-stream: roll back, or drop a connection that cannot.
        if (!finished) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
        }
        release(broken);
      }
    }
    const stream = Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
    stream.once('close', done);
    return stream;
  }

  /**
   * The account's posted balance as the books stood at `asOf` (effective dates), as they were known at `knownAt`
   * (none: now, everything recorded so far).
   */
  async balanceAsOf(account: AccountRow, asOf: Date, knownAt: Date | undefined): Promise<BalanceAsOfView> {
    const r = await this.countersAt(account.id, '$2', asOf, knownAt);
    return {
      accountId: account.id,
      currency: account.currency,
      asOf: asOf.toISOString(),
      knownAt: (knownAt ?? new Date()).toISOString(),
      debitsPosted: r.debits,
      creditsPosted: r.credits,
      posted: postedOf(account, r).toString(),
      version: Number(r.version),
    };
  }

  /** Opening and closing balances of [from, to) by effective date, and what moved in between. */
  async statement(account: AccountRow, from: Date, to: Date): Promise<StatementView> {
    const opening = await this.countersAt(account.id, justBefore('$2'), from);
    const closing = await this.countersAt(account.id, justBefore('$2'), to);
    return {
      accountId: account.id,
      currency: account.currency,
      from: from.toISOString(),
      to: to.toISOString(),
      openingBalance: postedOf(account, opening).toString(),
      closingBalance: postedOf(account, closing).toString(),
      totalDebits: (BigInt(closing.debits) - BigInt(opening.debits)).toString(),
      totalCredits: (BigInt(closing.credits) - BigInt(opening.credits)).toString(),
      entryCount: Number(closing.version) - Number(opening.version),
    };
  }

  /** `countersAt` of one account: `asOf` is an expression of $2 (the instant `at`), `knownAt` is $3. */
  private async countersAt(accountId: string, asOf: string, at: Date, knownAt?: Date): Promise<Running> {
    const [row] = await this.db.query<Running[]>(countersAt('$1', asOf, '$3'), [accountId, at, knownAt ?? null]);
    return row!;
  }
}

/** The normal-side posted balance of the running counters stored on an entry. */
function postedOf(account: AccountRow, r: Running): bigint {
  const counters = {
    debitsPosted: BigInt(r.debits),
    creditsPosted: BigInt(r.credits),
    debitsPending: 0n,
    creditsPending: 0n,
  };
  return postedBalance(account.normal_balance, counters);
}

/** RFC 4180: quote a field that holds a comma, quote or line break, doubling its quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
