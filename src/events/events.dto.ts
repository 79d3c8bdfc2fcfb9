import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { PageQuery } from '../common/pagination.js';
import { IsLedgerRef, IsSeq } from '../common/validators.js';
import { EVENT_TYPES, type EventType } from './event-rows.js';

export class EventQuery extends OmitType(PageQuery, ['cursor'] as const) {
  @ApiPropertyOptional({ description: 'only this ledger (id or name)' }) @IsOptional() @IsLedgerRef() ledgerId?: string;

  @ApiPropertyOptional({ description: 'comma-separated event types', example: 'transfer.created,transfer.posted' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',') : value))
  @IsArray()
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, { each: true })
  types?: EventType[];

  @ApiPropertyOptional({
    description: 'the seq of the last event you have (nextCursor or lastSeq of the previous answer); default: 0',
  })
  @IsOptional()
  @IsSeq()
  after?: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 30,
    description: 'when nothing is there yet, wait up to this long for something to arrive (long poll)',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,2}$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(0)
  @Max(30)
  waitSeconds?: number;
}

export class EventView {
  @ApiProperty({ format: 'uuid', description: 'also the `webhook-id` of its deliveries' }) id: string;
  @ApiProperty({ example: '1042', description: 'strictly increasing; events are handed out in this order' })
  seq: string;

  @ApiProperty({ enum: EVENT_TYPES }) type: EventType;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty({ format: 'date-time', description: 'when the transaction of the change wrote it' })
  occurredAt: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the resource as its GET showed it then' })
  data: unknown;
}

export class EventPage {
  @ApiProperty({ type: [EventView] }) data: EventView[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'the seq of the last event here when more may follow at once; null when caught up',
  })
  nextCursor: string | null;

  @ApiProperty({
    description:
      'how far this answer looked (the horizon, or the last event here): pass it as `after` to go on without ' +
      'reading again what a `types` or `ledgerId` filter left out',
  })
  lastSeq: string;
}
