import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, NotContains, ValidateBy } from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { IsMetadata, IsTimestamp, isUuidShaped, LEDGER_NAME_PATTERN } from '../common/validators.js';

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
    pattern: LEDGER_NAME_PATTERN.source,
    example: 'payments-eu',
    description:
      'unique; lowercase letters, digits, `_` and `-`; never shaped like a UUID, so that a path can take either',
  })
  @Matches(LEDGER_NAME_PATTERN, { message: 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  @NotContains('\u0000')
  @IsNotUuidShaped()
  name: string;
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
  return ValidateBy({
    name: 'isNotUuidShaped',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !isUuidShaped(value),
      defaultMessage: () => 'name must not be shaped like a UUID',
    },
  });
}

export class CloseLedgerDto {
  @ApiProperty({
    format: 'date-time',
    description: 'close the books up to this instant: at most now, and after the ledger’s `closedUntil`',
  })
  @IsTimestamp()
  until: string;
}
