import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A creating request's outcome, kept so that a retry with the same key is answered, not applied again. */
@Entity('idempotency_keys')
@Index('idempotency_keys_created_at_idx', ['createdAt'])
export class IdempotencyKey {
  @PrimaryColumn('uuid', { name: 'user_id' })
  userId: string;

  @PrimaryColumn('text')
  key: string;

  /** SHA-256 of method, path and body: the same key with another request is refused. */
  @Column('text', { name: 'request_hash' })
  requestHash: string;

  @Column('smallint')
  status: number;

  /** `json`, not `jsonb`: a replay returns the first body byte for byte, key order included. */
  @Column('json')
  response: unknown;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;
}
