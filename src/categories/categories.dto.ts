import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Length, ValidateIf } from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { PageQuery } from '../common/pagination.js';
import { IsLedgerRef, IsTimestamp } from '../common/validators.js';
import type { Side } from '../core/balances.js';

const SIDES = ['debit', 'credit'] as const;

export class CreateCategoryDto {
  @ApiPropertyOptional({ description: 'the ledger (id or name); absent: the caller’s only ledger, else `default`' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Current assets' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ enum: SIDES, description: 'the side its balance is shown on' })
  @IsIn(SIDES)
  normalBalance: Side;

  @ApiPropertyOptional({ format: 'uuid', description: 'the category it is nested in, of the same ledger' })
  @IsOptional()
  @IsUUID()
  parentId?: string;
}

export class UpdateCategoryDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'a new parent of the same ledger, or null for none; one that would make a cycle: 422 CATEGORY_CYCLE',
  })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsUUID()
  parentId?: string | null;
}

export class CategoryListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only this ledger (id or name)' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
}

export class CategoryBalanceQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'the instant (inclusive); absent: now' })
  @IsOptional()
  @IsTimestamp()
  asOf?: string;
}

export class CategoryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: SIDES }) normalBalance: Side;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) parentId: string | null;
  @ApiProperty({ type: [String], description: 'its own member accounts (not its descendants’), sorted' })
  accountIds: string[];
  @ApiProperty({ type: ActorView, nullable: true }) createdBy: ActorView | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class CategoryPage {
  @ApiProperty({ type: [CategoryView] }) data: CategoryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class CategoryCurrencyBalance {
  @ApiProperty() currency: string;
  @ApiProperty({ example: '0' }) debitsPosted: string;
  @ApiProperty({ example: '0' }) creditsPosted: string;
  @ApiProperty({ example: '0', description: 'on the category’s normal side' }) posted: string;
}

export class CategoryBalanceView {
  @ApiProperty({ format: 'uuid' }) categoryId: string;
  @ApiProperty({ format: 'date-time' }) asOf: string;
  @ApiProperty({ type: [CategoryCurrencyBalance] }) currencies: CategoryCurrencyBalance[];
}
