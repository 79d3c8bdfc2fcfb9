import { Check, Column, Entity, Generated, PrimaryColumn, Unique } from 'typeorm';
import type { Role } from '../auth/roles.decorator.js';
import type { Actor } from '../writes/write-request.js';

/** A service's credential (SPEC 10). The key itself is never stored: only its keyed hash. */
@Entity('api_keys')
@Unique('api_keys_seq_key', ['seq'])
@Unique('api_keys_key_hash_key', ['keyHash'])
@Check('api_keys_roles_check', `cardinality(roles) >= 1 AND roles <@ ARRAY['admin','operator','auditor']::text[]`)
@Check('api_keys_ledgers_check', `ledgers IS NULL OR cardinality(ledgers) >= 1`)
export class ApiKey {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'api_keys_pkey' })
  id: string;

  @Column('bigint')
  @Generated('increment')
  seq: string;

  @Column('text')
  name: string;

  /** HMAC-SHA256 of the key (hex): how a presented key is found, in one index probe. */
  @Column('text', { name: 'key_hash' })
  keyHash: string;

  @Column('text', { array: true })
  roles: Role[];

  @Column('uuid', { array: true, nullable: true })
  ledgers: string[] | null;

  @Column('timestamp with time zone', { name: 'expires_at', precision: 3, nullable: true })
  expiresAt: Date | null;

  @Column('jsonb', { name: 'created_by' })
  createdBy: Actor;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;

  @Column('timestamp with time zone', { name: 'last_used_at', precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @Column('timestamp with time zone', { name: 'revoked_at', precision: 3, nullable: true })
  revokedAt: Date | null;
}
