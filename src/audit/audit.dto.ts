import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { ACCOUNT_TYPES } from '../core/account-types.js';
import { IsLedgerRef } from '../common/validators.js';
import { AsOfQuery } from '../entries/entries.dto.js';

export class TrialBalanceQuery extends AsOfQuery {
  @ApiPropertyOptional({ description: 'only this ledger (id or name); absent: a row per ledger and currency' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
}

export class VerifyQuery {
  @ApiPropertyOptional({
    description:
      'only this ledger (id or name); absent: every ledger the caller sees. An unknown ledger checks nothing',
  })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
}

export const PROBLEM_CODES = [
  'HASH_MISMATCH',
  'VERSION_GAP',
  'BALANCE_MISMATCH',
  'UNBALANCED_TRANSFER',
  'UNBALANCED_TRANSACTION',
  'UNBALANCED_CURRENCY',
  'LOG_HASH_MISMATCH',
  'LOG_GAP',
  'TREE_MISMATCH',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

export class TypeTotals {
  @ApiProperty({ enum: [...ACCOUNT_TYPES, 'unclassified'] }) type: string;
  @ApiProperty({ example: '0' }) totalDebits: string;
  @ApiProperty({ example: '0' }) totalCredits: string;
  @ApiProperty() accountCount: number;
}

export class CurrencyTotals {
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ example: '0' }) totalDebits: string;
  @ApiProperty({ example: '0' }) totalCredits: string;
  @ApiProperty() balanced: boolean;
  @ApiProperty() accountCount: number;
  @ApiProperty({ type: [TypeTotals], description: 'the same totals by account type (SPEC 12), in chart order' })
  byType: TypeTotals[];
}

export class TrialBalanceView {
  @ApiProperty({ format: 'date-time' }) asOf: string;
  @ApiProperty({ type: [CurrencyTotals] }) currencies: CurrencyTotals[];
}

export class VerifyProblem {
  @ApiProperty({ enum: PROBLEM_CODES }) code: ProblemCode;
  @ApiPropertyOptional({ format: 'uuid' }) accountId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) transferId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'the transaction of an UNBALANCED_TRANSACTION' })
  transactionId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'the ledger of an UNBALANCED_CURRENCY' }) ledgerId?: string;
  @ApiPropertyOptional() accountVersion?: number;
  @ApiPropertyOptional({ example: '42', description: 'the administrative log record of a LOG_* problem' })
  logSeq?: string;
  @ApiPropertyOptional({ example: '4711', description: 'the journal seq of a TREE_MISMATCH about one entry or leaf' })
  seq?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'the checkpoint of a TREE_MISMATCH about a signed checkpoint' })
  checkpointId?: string;
  @ApiProperty() detail: string;
}

export class VerifyView {
  @ApiProperty() ok: boolean;
  @ApiProperty() checkedAccounts: number;
  @ApiProperty() checkedEntries: number;
  @ApiProperty() checkedTransfers: number;
  @ApiProperty({ description: 'transactions of 2-100 postings checked against their entries (SPEC 11)' })
  checkedTransactions: number;
  @ApiProperty({
    description: 'administrative log records checked (SPEC 10): those of the ledgers checked, or all of them',
  })
  checkedLogRecords: number;
  @ApiProperty({
    type: [VerifyProblem],
    description:
      'at most 100: the first problem of each affected account, then of each currency and transfer, before a second of any',
  })
  problems: VerifyProblem[];
}
