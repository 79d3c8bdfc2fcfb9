import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { IsAmount, IsCurrency, IsSignedMoney } from '../common/validators.js';
import {
  AccountAfterView,
  TRANSFER_STATUSES,
  EffectiveAt,
  MovementOptionsDto,
  TransferListQuery,
  type TransferStatus,
} from '../transfers/transfers.dto.js';

export class BoundsDto {
  @ApiPropertyOptional({ example: '0', description: 'at least this (minor units, may be negative)' })
  @IsOptional()
  @IsSignedMoney()
  gte?: string;

  @ApiPropertyOptional({ example: '1000000', description: 'at most this (minor units, may be negative)' })
  @IsOptional()
  @IsSignedMoney()
  lte?: string;
}

export class ConditionsDto {
  @ApiPropertyOptional({ type: BoundsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BoundsDto)
  available?: BoundsDto;

  @ApiPropertyOptional({ type: BoundsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BoundsDto)
  posted?: BoundsDto;
}

export class PostingDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID() accountId: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) @IsIn(['debit', 'credit']) direction: 'debit' | 'credit';

  @ApiProperty({ example: '1000', description: 'minor units, 1 … 9223372036854775807, as a string' })
  @IsAmount()
  amount: string;

  @ApiProperty({ example: 'USD', description: "the account's currency" }) @IsCurrency() currency: string;

  @ApiPropertyOptional({
    minimum: 0,
    description: "the account's `version` this posting was decided on; any other: 409 ACCOUNT_VERSION_CONFLICT",
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  lockVersion?: number;

  @ApiPropertyOptional({
    type: ConditionsDto,
    description:
      "bounds on the account's balances once the whole transaction is applied; else 422 BALANCE_CONDITION_FAILED",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ConditionsDto)
  conditions?: ConditionsDto;
}

export class CreateTransactionDto extends MovementOptionsDto {
  @ApiProperty({ type: [PostingDto], minItems: 2, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => PostingDto)
  postings: PostingDto[];
}

export class ReverseTransactionDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @EffectiveAt() effectiveAt?: string;
}

/** The transfers list's filters: a transfer is shown among transactions, and `accountId` is any posting's. */
export class TransactionListQuery extends TransferListQuery {}

export class PostingView {
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty({ enum: ['debit', 'credit'] }) direction: 'debit' | 'credit';
  @ApiProperty({ example: '1000' }) amount: string;
  @ApiProperty() currency: string;
  @ApiPropertyOptional() lockVersion?: number;
  @ApiPropertyOptional({ type: ConditionsDto }) conditions?: ConditionsDto;
}

export class TransactionView {
  @ApiProperty({ format: 'uuid', description: 'one id space with transfers' }) id: string;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty({ enum: TRANSFER_STATUSES }) status: TransferStatus;
  @ApiProperty({ type: [PostingView], description: 'as sent; a transfer shows as its debit and its credit' })
  postings: PostingView[];
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: String, nullable: true }) externalId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ format: 'date-time', description: 'when it takes effect: its creation, until effective dates exist' })
  effectiveAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'the transaction this one reverses' })
  reversalOf: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'the transaction that reversed this one' })
  reversedBy: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) postedAt: string | null;
  @ApiProperty({ type: ActorView, nullable: true }) createdBy: ActorView | null;
  @ApiProperty({ type: ActorView, nullable: true }) postedBy: ActorView | null;
  @ApiProperty({ type: ActorView, nullable: true, description: '`system` when it expired' }) voidedBy: ActorView | null;
}

/** A transaction as a write answers it: with the accounts it touched, as they stood right after it. */
export class TransactionWriteView extends TransactionView {
  @ApiProperty({ type: [AccountAfterView] }) accounts: AccountAfterView[];
}

export class TransactionPage {
  @ApiProperty({ type: [TransactionView] }) data: TransactionView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
