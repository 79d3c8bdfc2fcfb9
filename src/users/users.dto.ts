import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsRoles, type Role, ROLES } from '../auth/roles.decorator.js';
import { IsLedgerLimit } from '../common/validators.js';

export class CreateUserDto {
  @ApiProperty({ example: 'payments-service', pattern: '^[A-Za-z0-9._@-]{3,64}$' })
  @IsString()
  @Matches(/^[A-Za-z0-9._@-]{3,64}$/, { message: 'username must be 3-64 letters, digits, ".", "_", "@" or "-"' })
  username: string;

  @ApiProperty({ minLength: 12, maxLength: 256, format: 'password' })
  @IsString()
  @Length(12, 256)
  password: string;

  @ApiProperty({ enum: ROLES, isArray: true, minItems: 1 })
  @IsRoles()
  roles: Role[];

  @IsLedgerLimit(
    'the ledgers (ids or names) the user is limited to; absent or null: every ledger. Outside them nothing exists for the user',
  )
  ledgers?: string[] | null;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES, isArray: true, minItems: 1 })
  @IsOptional()
  @IsRoles()
  roles?: Role[];

  @IsLedgerLimit(
    'the ledgers (ids or names) the user is limited to; null: every ledger; absent: unchanged. Outside them nothing exists for the user',
  )
  ledgers?: string[] | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ minLength: 12, maxLength: 256, format: 'password' })
  @IsOptional()
  @IsString()
  @Length(12, 256)
  password?: string;
}

export class UserView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() username: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles: Role[];
  @ApiProperty({ type: [String], format: 'uuid', nullable: true, description: 'null: every ledger' })
  ledgers: string[] | null;
  @ApiProperty() disabled: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when the password was last changed; null: not since the user was created',
  })
  passwordChangedAt: string | null;
}

export class UserPage {
  @ApiProperty({ type: [UserView] }) data: UserView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
