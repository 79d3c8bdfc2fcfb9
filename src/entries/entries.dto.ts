import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { IsCurrency, IsLedgerRef, IsSeq, IsTimestamp } from '../common/validators.js';
import { RangePageQuery, TimeRangeQuery } from '../common/pagination.js';
import type { Side } from '../core/balances.js';

/** Entries created in [from, to), a page at a time. */
export class EntryListQuery extends RangePageQuery {}

export class EntryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '1042', description: 'global, strictly increasing' }) seq: string;
  @ApiProperty({ format: 'uuid', description: "its account's ledger" }) ledgerId: string;
  @ApiProperty({ format: 'uuid' }) transferId: string;
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) direction: Side;
  @ApiProperty({ example: '1000' }) amount: string;
  @ApiProperty({ description: '1, 2, 3, … per account, without gaps' }) accountVersion: number;
  @ApiProperty({ example: '-1000', description: "the account's normal-side posted balance after this entry" })
  balanceAfter: string;
  @ApiProperty({ format: 'date-time', description: 'when it was recorded' }) createdAt: string;
  @ApiProperty({
    format: 'date-time',
    description: 'when it counts in the books (SPEC 12): its movement’s effectiveAt, or createdAt when not dated',
  })
  effectiveAt: string;
  @ApiProperty({ description: "hash of the account's previous entry, or 64 zeros" }) prevHash: string;
  @ApiProperty({
    description:
      'lowercase hex SHA-256 of prevHash + "\\n" + [accountId, accountVersion, transferId, direction, amount, currency, balanceAfter, createdAt].join("|"), ' +
      'with "|" + effectiveAt appended when effectiveAt differs from createdAt',
  })
  hash: string;
}

export class EntryPage {
  @ApiProperty({ type: [EntryView] }) data: EntryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class JournalQuery extends EntryListQuery {
  @ApiPropertyOptional({ description: 'only this ledger (id or name)' }) @IsOptional() @IsLedgerRef() ledgerId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() accountId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() transferId?: string;
  @ApiPropertyOptional() @IsOptional() @IsCurrency() currency?: string;

  @ApiPropertyOptional({
    description:
      'the seq of the last entry you have (nextCursor of the previous page); to tail the journal, keep passing the seq of the last entry you saw',
  })
  @IsOptional()
  @IsSeq()
  override cursor?: string = undefined;
}

export class ExportQuery extends TimeRangeQuery {
  @ApiProperty({ enum: ['csv', 'ndjson'] }) @IsIn(['csv', 'ndjson']) format: 'csv' | 'ndjson';
  @ApiPropertyOptional({ description: 'only this ledger (id or name)' }) @IsOptional() @IsLedgerRef() ledgerId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() accountId?: string;
  @ApiPropertyOptional() @IsOptional() @IsCurrency() currency?: string;
}

export class AsOfQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'default: now' })
  @IsOptional()
  @IsTimestamp()
  asOf?: string;
}

/** `GET /v1/accounts/:id/balance` (SPEC 12): as the books stood at `asOf`, as they were known at `knownAt`. */
export class BalanceQuery extends AsOfQuery {
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'count only what was recorded by then (default: now): the figure a report made then showed',
  })
  @IsOptional()
  @IsTimestamp()
  knownAt?: string;
}

/** [from, to): from defaults to the beginning, to to now. */
export class StatementQuery extends TimeRangeQuery {}

export class BalanceAsOfView {
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ format: 'date-time', description: 'by effective date: what counted in the books by then' })
  asOf: string;
  @ApiProperty({ format: 'date-time', description: 'only what was recorded by then counted' }) knownAt: string;
  @ApiProperty({ example: '0' }) debitsPosted: string;
  @ApiProperty({ example: '0' }) creditsPosted: string;
  @ApiProperty({ example: '0' }) posted: string;
  @ApiProperty() version: number;
}

export class StatementView {
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ example: '0' }) openingBalance: string;
  @ApiProperty({ example: '0' }) closingBalance: string;
  @ApiProperty({ example: '0' }) totalDebits: string;
  @ApiProperty({ example: '0' }) totalCredits: string;
  @ApiProperty() entryCount: number;
}
