import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, NotContains, ValidateBy } from 'class-validator';
import { IsRoles, type Role, ROLES } from '../auth/roles.decorator.js';
import { IsLedgerLimit, IsTimestamp } from '../common/validators.js';
import { ActorView } from '../common/actor-view.js';

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 128, example: 'payments-service' })
  @IsString()
  @Length(1, 128)
  @NotContains('\u0000')
  name: string;

  @ApiProperty({ enum: ROLES, isArray: true, minItems: 1 })
  @IsRoles()
  roles: Role[];

  @IsLedgerLimit('the ledgers (ids or names) the key is limited to; absent or null: every ledger')
  ledgers?: string[] | null;

  @ApiPropertyOptional({ format: 'date-time', description: 'in the future; absent: the key does not expire' })
  @IsOptional()
  @IsTimestamp()
  @ValidateBy({
    name: 'isFuture',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && Date.parse(value) > Date.now(),
      defaultMessage: () => 'expiresAt must be in the future',
    },
  })
  expiresAt?: string;
}

export class ApiKeyView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles: Role[];
  @ApiProperty({ type: [String], format: 'uuid', nullable: true, description: 'null: every ledger' })
  ledgers: string[] | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: ActorView }) createdBy: ActorView;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'updated at most once a minute' })
  lastUsedAt: string | null;
}

export class CreatedApiKeyView extends ApiKeyView {
  @ApiProperty({
    example: 'lsk_3q2-7wEjUuVNJEWTRCpQMcwKnTgyQjF0Xr5J0M5sNqQ',
    description:
      'the key, to send as `Authorization: Bearer lsk_…`; in this answer only (a replay of the request answers without it), and stored as a hash',
  })
  key: string;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyView] }) data: ApiKeyView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
