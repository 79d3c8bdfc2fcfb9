import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { ActorView } from '../common/actor-view.js';
import { RangePageQuery } from '../common/pagination.js';
import { IsLedgerRef } from '../common/validators.js';
import { RESOURCE_TYPES, VERBS } from './admin-log-chain.js';

const ACTIONS = RESOURCE_TYPES.flatMap((type) => VERBS.map((verb) => `${type}.${verb}`));

export class AdminLogQuery extends RangePageQuery {
  @ApiPropertyOptional({ description: 'only records of this ledger (id or name)' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiPropertyOptional({ description: "only this actor's records (its `actor.id`)" })
  @IsOptional()
  @IsString()
  @Length(1, 512)
  actorId?: string;

  @ApiPropertyOptional({ enum: ACTIONS, description: '`<resourceType>.<verb>`' })
  @IsOptional()
  @IsIn(ACTIONS)
  action?: string;

  @ApiPropertyOptional({ enum: RESOURCE_TYPES })
  @IsOptional()
  @IsIn(RESOURCE_TYPES)
  resourceType?: string;

  @ApiPropertyOptional({ description: "the resource's id (a username for `login` records)" })
  @IsOptional()
  @IsString()
  @Length(1, 512)
  resourceId?: string;
}

export class AdminLogRecordView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '1', description: '1, 2, 3… with no gap, as a string of digits' }) seq: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ type: ActorView }) actor: ActorView;
  @ApiProperty({ example: 'account.updated' }) action: string;
  @ApiProperty({ enum: RESOURCE_TYPES }) resourceType: string;
  @ApiProperty() resourceId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) ledgerId: string | null;
  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'the resource as its GET showed it before the change; null before a creation',
  })
  before: unknown;
  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description:
      'the resource as its GET shows it after the change; null once revoked or deleted. For `login` records: ' +
      '`{ username, address, attempts, firstAt, lastAt }`',
  })
  after: unknown;
  @ApiProperty() requestId: string;
  @ApiProperty({ pattern: '^[0-9a-f]{64}$', description: "the previous record's hash; 64 zeros for the first" })
  prevHash: string;
  @ApiProperty({
    pattern: '^[0-9a-f]{64}$',
    description:
      'hex SHA-256 of prevHash, "\\n" and the RFC 8785 canonical JSON of this record without prevHash and hash',
  })
  hash: string;
}

export class AdminLogPage {
  @ApiProperty({ type: [AdminLogRecordView] }) data: AdminLogRecordView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
