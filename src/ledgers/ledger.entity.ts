import { Check, Column, Entity, Generated, PrimaryColumn, Unique } from 'typeorm';

/** An independent book: its accounts, movements and entries carry its id, and money never leaves it (SPEC 9). */
@Entity('ledgers')
@Unique('ledgers_seq_key', ['seq'])
@Unique('ledgers_name_key', ['name'])
@Check('ledgers_name_check', `name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'`)
export class Ledger {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'ledgers_pkey' })
  id: string;

  @Column('bigint')
  @Generated('increment')
  seq: string;

  @Column('text')
  name: string;

  @Column('text', { nullable: true })
  description: string | null;

  @Column('jsonb', { default: {} })
  metadata: Record<string, string>;

  @Column('timestamp with time zone', { name: 'closed_until', precision: 3, nullable: true })
  closedUntil: Date | null;

  /** Who created it: `{ type, id, name }`; null for `default`, which the migration made. */
  @Column('jsonb', { name: 'created_by', nullable: true })
  createdBy: unknown;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;

  @Column('timestamp with time zone', { name: 'updated_at', precision: 3, default: () => 'now()' })
  updatedAt: Date;
}
