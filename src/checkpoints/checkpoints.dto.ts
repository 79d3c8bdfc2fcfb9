import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { PageQuery } from '../common/pagination.js';
import { IsLedgerRef } from '../common/validators.js';
import { EntryView } from '../entries/entries.dto.js';

/** A tree size or leaf index: plain decimal digits, at most 15 (exact in a JS number; a journal is far smaller). */
const IsTreeIndex = (): PropertyDecorator =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : value,
    ),
    IsInt(),
    Min(0),
    Max(999_999_999_999_999),
  );

const LEDGER = 'the ledger (id or name); absent: the caller’s only ledger, else `default`';

export class LedgerTreeQuery {
  @ApiPropertyOptional({ description: LEDGER })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
}

export class CreateCheckpointDto extends LedgerTreeQuery {}

export class CheckpointListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only this ledger (id or name); absent: every ledger the caller sees' })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;
}

export class InclusionQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'the entry to prove; or `ledgerId` and `leafIndex`' })
  @IsOptional()
  @IsUUID()
  entryId?: string;

  @ApiPropertyOptional({ description: 'with `leafIndex`: ' + LEDGER })
  @IsOptional()
  @IsLedgerRef()
  ledgerId?: string;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'the leaf to prove, instead of `entryId` (a verifier sampling)',
  })
  @IsOptional()
  @IsTreeIndex()
  leafIndex?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'the tree to prove it in; absent: the current tree' })
  @IsOptional()
  @IsTreeIndex()
  treeSize?: number;
}

export class ConsistencyQuery extends LedgerTreeQuery {
  @ApiProperty({ type: 'integer', description: 'the older tree size' })
  @IsTreeIndex()
  from: number;

  @ApiPropertyOptional({ type: 'integer', description: 'the newer tree size; absent: the current tree' })
  @IsOptional()
  @IsTreeIndex()
  to?: number;
}

export class CheckpointView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty({ example: 1024, description: 'leaves: the ledger’s first `treeSize` entries in seq order' })
  treeSize: number;
  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', description: 'hex' })
  rootHash: string;
  @ApiProperty({ type: String, nullable: true, example: '4711', description: 'seq of the last leaf; null when empty' })
  lastSeq: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({
    description:
      'the C2SP tlog-checkpoint signed note, verbatim: `<CHECKPOINT_ORIGIN>/<ledger name>`, the size and the ' +
      'base64 root, a blank line, then `— <key name> base64(key id ‖ Ed25519 signature)`',
  })
  note: string;
  @ApiProperty({ example: 'ledger-service' }) keyName: string;
  @ApiProperty({ example: '8a1b2c3d', description: 'the 4-byte key id, hex' }) keyId: string;
}

export class CheckpointPage {
  @ApiProperty({ type: [CheckpointView] }) data: CheckpointView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class VerifierKeyView {
  @ApiProperty({ example: 'ledger-service' }) name: string;
  @ApiProperty({ example: '8a1b2c3d' }) keyId: string;
  @ApiProperty({
    example: 'ledger-service+8a1b2c3d+AfakeBase64OfTheEd25519PublicKeyPrefixedWith01==',
    description: 'c2sp.org/signed-note verifier key: `name+hex(key id)+base64(0x01 ‖ Ed25519 public key)`',
  })
  vkey: string;
  @ApiProperty({ description: 'whether new checkpoints are signed with it' }) current: boolean;
}

export class VerifierKeysView {
  @ApiProperty({ type: [VerifierKeyView] }) keys: VerifierKeyView[];
}

export class InclusionProofView {
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty() leafIndex: number;
  @ApiProperty() treeSize: number;
  @ApiProperty({ description: 'SHA-256(0x00 ‖ the entry’s 32-byte hash), hex' }) leafHash: string;
  @ApiProperty({ type: [String], description: 'RFC 9162 section 2.1.3 audit path, from the leaf up, hex' })
  path: string[];
  @ApiProperty({ type: EntryView }) entry: EntryView;
}

export class ConsistencyProofView {
  @ApiProperty({ format: 'uuid' }) ledgerId: string;
  @ApiProperty() from: number;
  @ApiProperty() to: number;
  @ApiProperty({ type: [String], description: 'RFC 9162 section 2.1.4 consistency proof, hex' }) path: string[];
}
