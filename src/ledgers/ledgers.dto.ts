import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, NotContains } from 'class-validator';
import { IsMetadata } from '../common/validators.js';

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const UUID_SHAPED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class UpdateLedgerDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

/** A new ledger: its name, and what `PATCH` may change later. */
export class CreateLedgerDto extends UpdateLedgerDto {
  @ApiProperty({
    pattern: NAME.source,
    example: 'payments-eu',
    description:
      'unique; lowercase letters, digits, `_` and `-`; never shaped like a UUID, so that a path can take either',
  })
  @Matches(NAME, { message: 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  @NotContains('\u0000')
  @IsNotUuidShaped()
  name: string;
}

export class ActorView {
  @ApiProperty({ enum: ['user', 'apiKey', 'external', 'system'] }) type: string;
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

export class LedgerView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'the books are closed up to here' })
  closedUntil: string | null;
  @ApiProperty({ type: ActorView, nullable: true, description: 'null for `default`, which the service made' })
  createdBy: ActorView | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class LedgerPage {
  @ApiProperty({ type: [LedgerView] }) data: LedgerView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

/** A ledger name is never shaped like a UUID, so `/v1/ledgers/:idOrName` and `ledgerId` read either without doubt. */
function IsNotUuidShaped(): PropertyDecorator {
  return Matches(/^(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)/, {
    message: 'name must not be shaped like a UUID',
  });
}

export const isUuidShaped = (s: string): boolean => UUID_SHAPED.test(s);
