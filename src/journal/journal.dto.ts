import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';
import { PageQuery } from '../common/pagination.js';
import type { Side } from '../core/balances.js';

export class EntryListQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'entries created at or after' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'entries created before' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  to?: string;
}

export class EntryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '1042', description: 'global, strictly increasing' }) seq: string;
  @ApiProperty({ format: 'uuid' }) transferId: string;
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) direction: Side;
  @ApiProperty({ example: '1000' }) amount: string;
  @ApiProperty({ description: '1, 2, 3, … per account, without gaps' }) accountVersion: number;
  @ApiProperty({ example: '-1000', description: "the account's normal-side posted balance after this entry" })
  balanceAfter: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ description: "hash of the account's previous entry, or 64 zeros" }) prevHash: string;
  @ApiProperty({
    description:
      'lowercase hex SHA-256 of prevHash + "\\n" + [accountId, accountVersion, transferId, direction, amount, currency, balanceAfter, createdAt].join("|")',
  })
  hash: string;
}

export class EntryPage {
  @ApiProperty({ type: [EntryView] }) data: EntryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
