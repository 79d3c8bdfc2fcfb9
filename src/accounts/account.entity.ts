import type { Actor } from '../writes/write-request.js';
import { Check, Column, Entity, Generated, Index, PrimaryColumn } from 'typeorm';
import { TYPE_CHECK } from '../../migrations/1766300000000-account-types.js';

/**
 * An account and its running counters. The counters are only ever changed by the transfer engine inside
 * a SERIALIZABLE transaction, with the row locked; the CHECKs make a bug there fail loudly instead.
 */
@Entity('accounts')
@Check('accounts_currency_check', `currency ~ '^[A-Z][A-Z0-9_]{2,15}$'`)
@Check('accounts_normal_balance_check', `normal_balance IN ('debit', 'credit')`)
@Check('accounts_status_check', `status IN ('active', 'frozen', 'closed')`)
@Check('accounts_type_check', TYPE_CHECK)
@Check(
  'accounts_counters_check',
  `debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0 AND version >= 0`,
)
// numeric: available can lie below the bigint range (posted − pending) without overflowing the check itself.
@Check(
  'accounts_available_check',
  `allow_negative OR (CASE WHEN normal_balance = 'credit'
     THEN credits_posted::numeric - debits_posted - debits_pending
     ELSE debits_posted::numeric - credits_posted - credits_pending END) >= 0`,
)
@Check(
  'accounts_closed_check',
  `status <> 'closed' OR (debits_posted = credits_posted AND debits_pending = 0 AND credits_pending = 0)`,
)
@Index('accounts_currency_seq_idx', ['currency', 'seq'])
@Index('accounts_status_seq_idx', ['status', 'seq'])
@Index('accounts_ledger_seq_idx', ['ledgerId', 'seq'])
// `?createdBy=`: on the creator's id, an expression the migration declares and entities cannot.
@Index('accounts_created_by_idx', { synchronize: false })
// `?metadata[k]=v`: a GIN index (jsonb_path_ops), which entities cannot declare.
@Index('accounts_metadata_idx', { synchronize: false })
@Index('accounts_external_id_key', ['ledgerId', 'externalId'], { unique: true })
// `?externalId=` without a ledger: only the non-null values are ever looked up.
@Index('accounts_external_id_idx', ['externalId'], { where: 'external_id IS NOT NULL' })
export class Account {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'ledger_id' })
  ledgerId: string;

  /** Creation order, for stable list pagination. */
  @Column('bigint', { unique: true })
  @Generated('increment')
  seq: string;

  @Column('text')
  currency: string;

  @Column('text', { name: 'normal_balance' })
  normalBalance: string;

  /** SPEC 12; null: unclassified. */
  @Column('text', { nullable: true })
  type: string | null;

  @Column('boolean', { name: 'allow_negative', default: false })
  allowNegative: boolean;

  @Column('text', { default: 'active' })
  status: string;

  @Column('text', { nullable: true })
  name: string | null;

  @Column('text', { name: 'external_id', nullable: true })
  externalId: string | null;

  @Column('jsonb', { default: {} })
  metadata: Record<string, string>;

  @Column('bigint', { name: 'debits_posted', default: 0 })
  debitsPosted: string;

  @Column('bigint', { name: 'credits_posted', default: 0 })
  creditsPosted: string;

  @Column('bigint', { name: 'debits_pending', default: 0 })
  debitsPending: string;

  @Column('bigint', { name: 'credits_pending', default: 0 })
  creditsPending: string;

  /** Number of ledger entries; the next entry gets version + 1. */
  @Column('bigint', { default: 0 })
  version: string;

  /** Hash of the latest entry (64 zeros before the first): the head of the account's chain. */
  @Column('text', { name: 'last_hash', default: '0000000000000000000000000000000000000000000000000000000000000000' })
  lastHash: string;

  /** Whether a balance monitor watches it: only then does its update run the monitors' trigger. */
  @Column('boolean', { default: false })
  monitored: boolean;

  /** Who created it; null on rows written before actors were kept. */
  @Column('jsonb', { name: 'created_by', nullable: true })
  createdBy: Actor | null;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;

  @Column('timestamp with time zone', { name: 'updated_at', precision: 3, default: () => 'now()' })
  updatedAt: Date;
}
