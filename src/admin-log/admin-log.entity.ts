import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { Actor } from '../writes/write-request.js';

/**
 * The administrative log (SPEC 10): append-only and chained, like the journal (triggers in its migration refuse
 * UPDATE, DELETE, TRUNCATE and an insert that does not continue the chain). Written only by the write entrance.
 */
@Entity('admin_log')
@Unique('admin_log_id_key', ['id'])
@Check(
  'admin_log_resource_type_check',
  `resource_type IN
        ('user', 'apiKey', 'account', 'ledger', 'category', 'webhook', 'monitor', 'login')`,
)
@Check(
  'admin_log_action_check',
  `action = resource_type || '.' || split_part(action, '.', 2)
        AND split_part(action, '.', 2) IN ('created', 'updated', 'revoked', 'deleted', 'closed', 'refused', 'rateLimited')`,
)
@Check('admin_log_hash_check', `hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$'`)
@Index('admin_log_ledger_seq_idx', ['ledgerId', 'seq'])
@Index('admin_log_resource_seq_idx', ['resourceType', 'resourceId', 'seq'])
@Index('admin_log_action_seq_idx', ['action', 'seq'])
@Index('admin_log_at_idx', ['at'])
// `?actorId=`: on the actor's id, an expression the migration declares and entities cannot.
@Index('admin_log_actor_seq_idx', { synchronize: false })
export class AdminLogRecord {
  /** 1, 2, 3… with no gap: the chain's order. */
  @PrimaryColumn('bigint', { primaryKeyConstraintName: 'PK_admin_log' })
  seq: string;

  @Column('uuid')
  id: string;

  @Column('timestamp with time zone', { precision: 3 })
  at: Date;

  @Column('jsonb')
  actor: Actor;

  @Column('text')
  action: string;

  @Column('text', { name: 'resource_type' })
  resourceType: string;

  @Column('text', { name: 'resource_id' })
  resourceId: string;

  @Column('uuid', { name: 'ledger_id', nullable: true })
  ledgerId: string | null;

  @Column('jsonb', { nullable: true })
  before: unknown;

  @Column('jsonb', { nullable: true })
  after: unknown;

  @Column('text', { name: 'request_id' })
  requestId: string;

  @Column('text', { name: 'prev_hash' })
  prevHash: string;

  @Column('text')
  hash: string;
}
