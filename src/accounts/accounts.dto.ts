import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  registerDecorator,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { ACCOUNT_TYPES, type AccountType, normalBalanceOf } from '../core/account-types.js';
import { ActorView } from '../common/actor-view.js';
import { PageQuery } from '../common/pagination.js';
import { IsCurrency, IsExternalId, IsLedgerRef, IsMetadata } from '../common/validators.js';
import type { AccountStatus, Side } from '../core/balances.js';

const SIDES = ['debit', 'credit'] as const;
const STATUSES = ['active', 'frozen', 'closed'] as const;

/** A normal balance given beside a type must be the type's (SPEC 12: a contradicting pair is a 400). */
function AgreesWithType(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'agreesWithType',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown, args: ValidationArguments) => {
          const type = (args.object as CreateAccountDto).type;
          return (
            type === undefined ||
            !(ACCOUNT_TYPES as readonly unknown[]).includes(type) ||
            value === normalBalanceOf(type)
          );
        },
        defaultMessage: (args: ValidationArguments) =>
          `a ${String((args.object as CreateAccountDto).type)} account is ${normalBalanceOf((args.object as CreateAccountDto).type!)}-normal`,
      },
    });
}

export class CreateAccountDto {
  @ApiPropertyOptional({
    description: 'the ledger (id or name) the account belongs to; absent: `default`',
    example: 'default',
  })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiProperty({ example: 'USD', pattern: '^[A-Z][A-Z0-9_]{2,15}$' })
  @IsCurrency()
  currency: string;

  @ApiPropertyOptional({
    enum: ACCOUNT_TYPES,
    description: 'its place in the chart of accounts (SPEC 12); absent: `unclassified` in reports',
  })
  @IsOptional()
  @IsIn(ACCOUNT_TYPES)
  type?: AccountType;

  @ApiPropertyOptional({
    enum: SIDES,
    description:
      'required without `type`; with it, it may be left out (assets and expenses are debit-normal, the others ' +
      'credit-normal) and must agree with it',
  })
  @ValidateIf((dto: CreateAccountDto) => dto.type === undefined || dto.normalBalance !== undefined)
  @IsIn(SIDES)
  @AgreesWithType()
  normalBalance?: Side;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  allowNegative?: boolean;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 128 })
  @IsOptional()
  @IsExternalId()
  externalId?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export class UpdateAccountDto {
  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional()
  @IsIn(STATUSES)
  status?: AccountStatus;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export class AccountListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only the accounts of this ledger (id or name)' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
  @ApiPropertyOptional() @IsOptional() @IsCurrency() currency?: string;
  @ApiPropertyOptional({ enum: STATUSES }) @IsOptional() @IsIn(STATUSES) status?: AccountStatus;
  @ApiPropertyOptional() @IsOptional() @IsExternalId() externalId?: string;
  @ApiPropertyOptional({ description: 'only the accounts this actor created (its `createdBy.id`)' })
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

export class BalancesView {
  @ApiProperty({ example: '0' }) debitsPosted: string;
  @ApiProperty({ example: '0' }) creditsPosted: string;
  @ApiProperty({ example: '0' }) debitsPending: string;
  @ApiProperty({ example: '0' }) creditsPending: string;
  @ApiProperty({ example: '0', description: 'net on the normal side' }) posted: string;
  @ApiProperty({ example: '0', description: 'posted minus pending outflows' }) available: string;
}

export class AccountView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: SIDES }) normalBalance: Side;
  @ApiProperty({ enum: [...ACCOUNT_TYPES, 'unclassified'] }) type: AccountType | 'unclassified';
  @ApiProperty() allowNegative: boolean;
  @ApiProperty({ enum: STATUSES }) status: AccountStatus;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ type: String, nullable: true }) externalId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ type: BalancesView }) balances: BalancesView;
  @ApiProperty({ description: 'number of ledger entries' }) version: number;
  @ApiProperty({ type: ActorView, nullable: true, description: 'null for accounts created before actors were kept' })
  createdBy: ActorView | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class AccountPage {
  @ApiProperty({ type: [AccountView] }) data: AccountView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
