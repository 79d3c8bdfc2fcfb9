import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  registerDecorator,
} from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { PageQuery } from '../common/pagination.js';
import { IsLedgerRef, IsSeq } from '../common/validators.js';
import { EVENT_TYPES, type EventType } from '../events/event-rows.js';
import { webhookUrlProblem } from './webhook-address.js';

/** An http: or https: URL with a host and no credentials; where it points is judged at every delivery. */
function IsWebhookUrl(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isWebhookUrl',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: 'url must be an http: or https: URL with a host and no credentials' },
      validator: {
        validate: (v: unknown) => typeof v === 'string' && v.length <= 2048 && webhookUrlProblem(v) === undefined,
      },
    });
}

const TYPES: ApiPropertyOptions = { enum: EVENT_TYPES, isArray: true, description: 'the event types delivered' };

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.com/ledger', maxLength: 2048 }) @IsWebhookUrl() url: string;

  @ApiProperty(TYPES)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, { each: true })
  types: EventType[];

  @ApiPropertyOptional({ description: 'only this ledger’s events (id or name); default: every ledger you see' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ maxLength: 2048 }) @IsOptional() @IsWebhookUrl() url?: string;

  @ApiPropertyOptional(TYPES)
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, { each: true })
  types?: EventType[];

  @ApiPropertyOptional({ description: 'false enables it again, with its retries started afresh' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

export class ReplayWebhookDto {
  @ApiProperty({ example: '0', description: 'deliver again every matching event after this seq, in order' })
  @IsSeq()
  after: string;
}

export class WebhookView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() url: string;
  @ApiProperty(TYPES) types: EventType[];
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: every ledger' })
  ledgerId: string | null;

  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty() disabled: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'why it was disabled, when the service did it' })
  disabledReason: string | null;

  @ApiProperty({ example: '1041', description: 'the seq of the last event it acknowledged' }) deliveredThrough: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'failing since then' })
  failingSince: string | null;

  @ApiProperty({ type: ActorView, nullable: true }) createdBy: ActorView | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class WebhookWithSecretView extends WebhookView {
  @ApiProperty({ example: 'whsec_…', description: 'shown once: keep it to verify signatures' }) secret: string;
}

export class SecretView {
  @ApiProperty({ example: 'whsec_…', description: 'the new secret; the old one also signs for 24 hours' })
  secret: string;
}

export class WebhookPage {
  @ApiProperty({ type: [WebhookView] }) data: WebhookView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class DeliveryView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: '1042' }) eventSeq: string;
  @ApiProperty({ format: 'date-time' }) attemptedAt: string;
  @ApiProperty({ type: Number, nullable: true }) statusCode: number | null;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: String, nullable: true }) error: string | null;
}

export class DeliveryPage {
  @ApiProperty({ type: [DeliveryView], description: 'newest first' }) data: DeliveryView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class WebhookListQuery extends PageQuery {}
