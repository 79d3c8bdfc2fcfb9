import { applyDecorators } from '@nestjs/common';
import { ApiHideProperty, ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { ActorView } from '../common/actor-view.js';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { RangePageQuery } from '../common/pagination.js';
import { BalancesView } from '../accounts/accounts.dto.js';
import { IsAmount, IsCurrency, IsExternalId, IsLedgerRef, IsMetadata, IsPastTimestamp } from '../common/validators.js';

export const TRANSFER_STATUSES = ['pending', 'posted', 'voided', 'expired'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

/** `effectiveAt` of a creating request or a reversal (SPEC 12). */
export const EffectiveAt = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      format: 'date-time',
      description:
        'when it counts in the books (default: when it is written); at most now, and not before its ledger’s ' +
        '`closedUntil` (422 PERIOD_CLOSED). `createdAt` stays when it was recorded.',
    }),
    IsOptional(),
    IsPastTimestamp(),
  );

/** What every new movement, transfer or transaction, may carry besides its money. */
export class MovementOptionsDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 128,
    description: "unique among the ledger's transfers and transactions",
  })
  @IsOptional()
  @IsExternalId()
  externalId?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ default: false, description: 'reserve now, post or void later (a transaction: as a whole)' })
  @IsOptional()
  @IsBoolean()
  pending?: boolean;

  @ApiPropertyOptional({ minimum: 1, maximum: 604800, description: 'a pending movement expires after this' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(604800)
  timeoutSeconds?: number;

  @EffectiveAt() effectiveAt?: string;
}

export class CreateTransferDto extends MovementOptionsDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID() debitAccountId: string;
  @ApiProperty({ format: 'uuid' }) @IsUUID() creditAccountId: string;

  @ApiProperty({ example: '1000', description: 'minor units, 1 … 9223372036854775807, as a string' })
  @IsAmount()
  amount: string;

  @ApiProperty({ example: 'USD' }) @IsCurrency() currency: string;
}

export class CreateBatchDto {
  @ApiProperty({ type: [CreateTransferDto], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => CreateTransferDto)
  transfers: CreateTransferDto[];
}

export class PostTransferDto {
  @ApiPropertyOptional({ description: 'post part of the reserved amount; the rest is released' })
  @IsOptional()
  @IsAmount()
  amount?: string;
}

export class ReverseTransferDto {
  @ApiPropertyOptional({ description: 'reverse part of the posted amount (default: all that is left)' })
  @IsOptional()
  @IsAmount()
  amount?: string;

  @EffectiveAt() effectiveAt?: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

/** `?dryRun=true` on the creating routes (SPEC 11). */
export class DryRunQuery {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description:
      'true: check everything the real call checks, against the current state, and answer 200 with what it would ' +
      'answer plus `dryRun: true`, or the same refusal. Nothing is written and no Idempotency-Key is looked up or kept.',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  dryRun?: 'true' | 'false';
}

export class TransferListQuery extends RangePageQuery {
  @ApiPropertyOptional({ description: 'only this ledger (id or name)' }) @IsOptional() @IsLedgerRef() ledgerId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'as debit or credit account' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiPropertyOptional({ enum: TRANSFER_STATUSES }) @IsOptional() @IsIn(TRANSFER_STATUSES) status?: TransferStatus;
  @ApiPropertyOptional() @IsOptional() @IsExternalId() externalId?: string;
  @ApiPropertyOptional({ description: 'only the transfers this actor created (its `createdBy.id`)' })
  @IsOptional()
  @IsString()
  @Length(1, 512)
  createdBy?: string;
  /** `metadata[key]=value` pairs, gathered by the query-string parser; documented on the route (a deep object). */
  @ApiHideProperty()
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export class TransferView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', description: "its accounts' ledger" }) ledgerId: string;
  @ApiProperty({ format: 'uuid' }) debitAccountId: string;
  @ApiProperty({ format: 'uuid' }) creditAccountId: string;
  @ApiProperty({ example: '1000' }) amount: string;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: TRANSFER_STATUSES }) status: TransferStatus;
  @ApiProperty({ example: '1000' }) postedAmount: string;
  @ApiProperty({ example: '0' }) reversedAmount: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: String, nullable: true }) externalId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) batchId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) reversalOf: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ format: 'date-time', description: 'when it was recorded' }) createdAt: string;
  @ApiProperty({ format: 'date-time', description: 'when it counts in the books (SPEC 12): createdAt unless dated' })
  effectiveAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) postedAt: string | null;
  @ApiProperty({ type: ActorView, nullable: true, description: 'null for transfers made before actors were kept' })
  createdBy: ActorView | null;
  @ApiProperty({ type: ActorView, nullable: true, description: 'who posted it (its creator when created posted)' })
  postedBy: ActorView | null;
  @ApiProperty({ type: ActorView, nullable: true, description: 'who voided it; `system` when it expired' })
  voidedBy: ActorView | null;
}

/** An account as the write left it (SPEC 11): what a caller would otherwise read back after every write. */
export class AccountAfterView {
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty({ description: 'its number of ledger entries right after this write' }) version: number;
  @ApiProperty({ type: BalancesView }) balances: BalancesView;
}

const ACCOUNTS_AFTER: ApiPropertyOptions = {
  type: [AccountAfterView],
  description:
    'each account this write touched, once, as it stood right after it (a replay answers the values of the first ' +
    'answer; later writes may have moved them since)',
};

/** A transfer as a write answers it: with the accounts it touched. */
export class TransferWriteView extends TransferView {
  @ApiProperty(ACCOUNTS_AFTER) accounts: AccountAfterView[];
}

export class BatchView {
  @ApiProperty({ format: 'uuid' }) batchId: string;
  @ApiProperty({ type: [TransferView] }) transfers: TransferView[];
  @ApiProperty(ACCOUNTS_AFTER) accounts: AccountAfterView[];
}

export class TransferPage {
  @ApiProperty({ type: [TransferView] }) data: TransferView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
