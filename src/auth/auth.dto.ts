import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { ROLES, type Role } from './roles.decorator.js';

export class TokenRequestDto {
  @ApiProperty() @IsString() @Length(1, 64) username: string;
  @ApiProperty({ format: 'password' }) @IsString() @Length(1, 256) password: string;
}

export class TokenView {
  @ApiProperty() accessToken: string;
  @ApiProperty({ example: 'Bearer' }) tokenType: 'Bearer';
  @ApiProperty({ example: 900 }) expiresIn: number;
}

export class MeView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() username: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles: Role[];
  @ApiProperty({
    type: [String],
    format: 'uuid',
    nullable: true,
    description: 'the ids of the ledgers the caller is limited to; null: every ledger',
  })
  ledgers: string[] | null;
}
