import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A keyed request's outcome, kept so that a retry with the same key is answered, not applied again. */
@Entity('idempotency_keys')
@Index('idempotency_keys_created_at_idx', ['createdAt'])
@Check('idempotency_keys_one_outcome', '(response IS NULL) <> (refusal IS NULL)')
export class IdempotencyKey {
  @PrimaryColumn('uuid', { name: 'user_id' })
  userId: string;

  @PrimaryColumn('text')
  key: string;

  /** SHA-256 of method, path and body: the same key with another request is refused. */
  @Column('text', { name: 'request_hash' })
  requestHash: string;

  /**
   * The result, when the write went through. `json`, not `jsonb`: a replay returns the first body byte for byte,
   * key order included.
   */
  @Column('json', { nullable: true })
  response: unknown;

  /** The ledger's refusal, when it refused: `{ code, detail, index?, requestId }`, rendered like a fresh one. */
  @Column('jsonb', { nullable: true })
  refusal: unknown;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;
}
