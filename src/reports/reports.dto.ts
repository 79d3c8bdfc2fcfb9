import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsCurrency, IsLedgerRef, IsTimestamp } from '../common/validators.js';

const LEDGER = 'the ledger (id or name); absent: the caller’s only ledger, else `default`';
const CURRENCY = 'the currency reported; absent: the ledger’s only currency (with several: 400)';

class ReportQuery {
  @ApiPropertyOptional({ description: LEDGER })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiPropertyOptional({ description: CURRENCY, example: 'USD' })
  @IsOptional()
  @IsCurrency()
  currency?: string;
}

export class BalanceSheetQuery extends ReportQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'the instant (inclusive); absent: now' })
  @IsOptional()
  @IsTimestamp()
  asOf?: string;
}

export class IncomeStatementQuery extends ReportQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'from (inclusive); absent: the beginning' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'to (exclusive); absent: now' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class ReportAccount {
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ example: '0', description: 'on the section’s normal side' }) balance: string;
}

export class ReportCategory {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: '0', description: 'its and its descendants’ accounts of the section’s type, each once' })
  total: string;
  @ApiProperty({ type: () => [ReportCategory] }) categories: ReportCategory[];
}

export class ReportSection {
  @ApiProperty({ example: '0' }) total: string;
  @ApiProperty({ type: [ReportCategory], description: 'top-level categories holding accounts of this type' })
  categories: ReportCategory[];
  @ApiProperty({ type: [ReportAccount], description: 'accounts of this type in no category' })
  accounts: ReportAccount[];
}

export class BalanceSheetView {
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty({ format: 'date-time' }) asOf: string;
  @ApiProperty() currency: string;
  @ApiProperty({ type: ReportSection }) assets: ReportSection;
  @ApiProperty({ type: ReportSection }) liabilities: ReportSection;
  @ApiProperty({ type: ReportSection }) equity: ReportSection;
  @ApiProperty({ example: '0', description: 'revenue − expense to date' }) retainedEarnings: string;
  @ApiProperty({ description: 'assets = liabilities + equity + retained earnings' }) balanced: boolean;
  @ApiProperty({
    type: ReportSection,
    description: 'accounts without a type, shown on their own normal side: their money is outside the equation',
  })
  unclassified: ReportSection;
}

export class IncomeStatementView {
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) from: string | null;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty() currency: string;
  @ApiProperty({ type: ReportSection }) revenue: ReportSection;
  @ApiProperty({ type: ReportSection }) expense: ReportSection;
  @ApiProperty({ example: '0', description: 'revenue − expense' }) netIncome: string;
}
