import type { Actor } from '../writes/write-request.js';
import { Check, Column, Entity, Generated, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { Account } from '../accounts/account.entity.js';

/**
 * A movement between two accounts; immutable but for its status and posted/reversed amounts (triggers). Its
 * references are checked once per INSERT statement by a trigger, not by row-by-row foreign keys
 * (`migrations/1764800000000-reference-checks.ts`).
 */
@Entity('transfers')
@Check('transfers_amount_check', `amount > 0`)
@Check('transfers_accounts_check', `debit_account_id <> credit_account_id`)
@Check('transfers_status_check', `status IN ('pending', 'posted', 'voided', 'expired')`)
@Check(
  'transfers_amounts_check',
  `posted_amount >= 0 AND posted_amount <= amount AND reversed_amount >= 0 AND reversed_amount <= posted_amount`,
)
@Check('transfers_posted_check', `(status = 'posted') = (posted_at IS NOT NULL)`)
@Index('transfers_debit_account_seq_idx', ['debitAccountId', 'seq'])
@Index('transfers_credit_account_seq_idx', ['creditAccountId', 'seq'])
@Index('transfers_status_seq_idx', ['status', 'seq'])
@Index('transfers_created_at_idx', ['createdAt'])
// Most transfers have no externalId, batch or original: only the non-null values are indexed.
@Index('transfers_external_id_key', ['ledgerId', 'externalId'], { unique: true, where: 'external_id IS NOT NULL' })
@Index('transfers_external_id_idx', ['externalId'], { where: 'external_id IS NOT NULL' })
// `?createdBy=`: on the creator's id, an expression the migration declares and entities cannot.
@Index('transfers_created_by_idx', { synchronize: false })
// `?metadata[k]=v`: GIN over the rows that have metadata, which entities cannot declare.
@Index('transfers_metadata_idx', { synchronize: false })
@Index('transfers_batch_idx', ['batchId'], { where: 'batch_id IS NOT NULL' })
@Index('transfers_reversal_of_idx', ['reversalOf'], { where: 'reversal_of IS NOT NULL' })
@Index('transfers_pending_expiry_idx', ['ledgerId', 'expiresAt'], {
  where: `status = 'pending' AND expires_at IS NOT NULL`,
})
export class Transfer {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'ledger_id' })
  ledgerId: string;

  @Column('bigint', { unique: true })
  @Generated('increment')
  seq: string;

  @Column('uuid', { name: 'debit_account_id' })
  debitAccountId: string;

  @ManyToOne(() => Account, { nullable: false, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'debit_account_id' })
  debitAccount?: Relation<Account>;

  @Column('uuid', { name: 'credit_account_id' })
  creditAccountId: string;

  @ManyToOne(() => Account, { nullable: false, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'credit_account_id' })
  creditAccount?: Relation<Account>;

  @Column('bigint')
  amount: string;

  @Column('text')
  currency: string;

  @Column('text')
  status: string;

  @Column('bigint', { name: 'posted_amount', default: 0 })
  postedAmount: string;

  @Column('bigint', { name: 'reversed_amount', default: 0 })
  reversedAmount: string;

  @Column('text', { nullable: true })
  description: string | null;

  @Column('text', { name: 'external_id', nullable: true })
  externalId: string | null;

  @Column('jsonb', { default: {} })
  metadata: Record<string, string>;

  @Column('uuid', { name: 'batch_id', nullable: true })
  batchId: string | null;

  @Column('uuid', { name: 'reversal_of', nullable: true })
  reversalOf: string | null;

  @ManyToOne(() => Transfer, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'reversal_of' })
  reversed?: Relation<Transfer>;

  @Column('timestamp with time zone', { name: 'expires_at', precision: 3, nullable: true })
  expiresAt: Date | null;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3 })
  createdAt: Date;

  /** When it counts in the books, if not when it was created (SPEC 12); its entries carry it, whenever posted. */
  @Column('timestamp with time zone', { name: 'effective_at', precision: 3, nullable: true })
  effectiveAt: Date | null;

  @Column('timestamp with time zone', { name: 'posted_at', precision: 3, nullable: true })
  postedAt: Date | null;

  /**
   * Who created, posted and voided it (`system` when it expired); null on rows written before actors were kept.
   * `posted_by` stays null for a transfer posted when made: its maker posted it, and is stored once.
   */
  @Column('jsonb', { name: 'created_by', nullable: true })
  createdBy: Actor | null;

  @Column('jsonb', { name: 'posted_by', nullable: true })
  postedBy: Actor | null;

  @Column('jsonb', { name: 'voided_by', nullable: true })
  voidedBy: Actor | null;
}
