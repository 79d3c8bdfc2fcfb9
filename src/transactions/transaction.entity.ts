import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { Actor } from '../writes/write-request.js';
import type { StoredPosting } from './transaction-rows.js';

/**
 * Postings moved as one unit (SPEC 11). Immutable but for its status moving forward, who posted or voided it,
 * and the reversal that names it (a trigger guards all of it, `migrations/1766000000000-transactions.ts`).
 */
@Entity('transactions')
@Unique('transactions_seq_key', ['seq'])
@Check('transactions_status_check', `status IN ('pending', 'posted', 'voided', 'expired')`)
@Check('transactions_posted_check', `(status = 'posted') = (posted_at IS NOT NULL)`)
@Check(
  'transactions_postings_check',
  `jsonb_typeof(postings) = 'array' AND jsonb_array_length(postings) BETWEEN 2 AND 100`,
)
@Index('transactions_external_id_key', ['ledgerId', 'externalId'], { unique: true, where: 'external_id IS NOT NULL' })
@Index('transactions_reversal_of_key', ['reversalOf'], { unique: true, where: 'reversal_of IS NOT NULL' })
// GIN indexes (`?accountId=`, `?metadata[k]=`), which entities cannot declare.
@Index('transactions_account_ids_idx', { synchronize: false })
@Index('transactions_metadata_idx', { synchronize: false })
@Index('transactions_pending_expiry_idx', ['ledgerId', 'expiresAt'], {
  where: `status = 'pending' AND expires_at IS NOT NULL`,
})
export class Transaction {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_transactions' })
  id: string;

  /** Drawn from the transfers' sequence by the insert: one order over both, which the transactions list pages on. */
  @Column('bigint')
  seq: string;

  @Column('uuid', { name: 'ledger_id' })
  ledgerId: string;

  @Column('text')
  status: string;

  /** As the caller sent them, amounts as strings. */
  @Column('jsonb')
  postings: StoredPosting[];

  /** The accounts the postings name, each once: what `?accountId=` searches. */
  @Column('uuid', { name: 'account_ids', array: true })
  accountIds: string[];

  @Column('text', { nullable: true })
  description: string | null;

  @Column('text', { name: 'external_id', nullable: true })
  externalId: string | null;

  @Column('jsonb', { default: {} })
  metadata: Record<string, string>;

  @Column('uuid', { name: 'reversal_of', nullable: true })
  reversalOf: string | null;

  @Column('uuid', { name: 'reversed_by', nullable: true })
  reversedBy: string | null;

  @Column('timestamp with time zone', { name: 'expires_at', precision: 3, nullable: true })
  expiresAt: Date | null;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3 })
  createdAt: Date;

  /** When it counts in the books, if not when it was created (SPEC 12); its entries carry it, whenever posted. */
  @Column('timestamp with time zone', { name: 'effective_at', precision: 3, nullable: true })
  effectiveAt: Date | null;

  @Column('timestamp with time zone', { name: 'posted_at', precision: 3, nullable: true })
  postedAt: Date | null;

  @Column('jsonb', { name: 'created_by', nullable: true })
  createdBy: Actor | null;

  @Column('jsonb', { name: 'posted_by', nullable: true })
  postedBy: Actor | null;

  @Column('jsonb', { name: 'voided_by', nullable: true })
  voidedBy: Actor | null;
}
