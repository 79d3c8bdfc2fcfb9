import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength, registerDecorator } from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { PageQuery } from '../common/pagination.js';
import { isSignedMoneyString } from '../core/money.js';

export const WATCHED = ['available', 'posted'] as const;
export const COMPARISONS = ['lt', 'lte', 'gt', 'gte'] as const;
export type Condition = Partial<
  Record<(typeof WATCHED)[number], Partial<Record<(typeof COMPARISONS)[number], string>>>
>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Exactly one balance, compared in exactly one way with one amount: `{ "available": { "lt": "100" } }`. */
export function isCondition(v: unknown): v is Condition {
  if (!isObject(v) || Object.keys(v).length !== 1) return false;
  const [balance, bound] = Object.entries(v)[0]!;
  if (!(WATCHED as readonly string[]).includes(balance) || !isObject(bound) || Object.keys(bound).length !== 1) {
    return false;
  }
  const [op, amount] = Object.entries(bound)[0]!;
  return (COMPARISONS as readonly string[]).includes(op) && isSignedMoneyString(amount);
}

function IsCondition(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isCondition',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message:
          'condition must be one of available or posted, compared with one of lt, lte, gt or gte to an amount string',
      },
      validator: { validate: isCondition },
    });
}

const CONDITION: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { type: 'object', additionalProperties: { type: 'string' } },
  example: { available: { lt: '10000' } },
  description: 'available or posted, on the account’s normal side, compared (lt, lte, gt, gte) with an amount',
};

export class CreateMonitorDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID() accountId: string;
  @ApiProperty(CONDITION) @IsCondition() condition: Condition;
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) description?: string;
}

export class MonitorListQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() accountId?: string;
}

export class MonitorView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) accountId: string;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty(CONDITION) condition: Condition;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: ActorView, nullable: true }) createdBy: ActorView | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class MonitorPage {
  @ApiProperty({ type: [MonitorView] }) data: MonitorView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
