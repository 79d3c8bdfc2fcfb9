import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm';
import { EFFECTIVE_AT_CHECK } from '../../migrations/1766500000000-effective-dates.js';
import { Account } from '../accounts/account.entity.js';
import { Transfer } from '../transfers/transfer.entity.js';

/**
 * The journal: append-only (a trigger refuses UPDATE and DELETE), hash-chained per account. Its transfer and
 * account are checked once per INSERT statement by a trigger, not by row-by-row foreign keys
 * (`migrations/1764800000000-reference-checks.ts`).
 */
@Entity('ledger_entries')
@Check('ledger_entries_amount_check', `amount > 0`)
@Check('ledger_entries_direction_check', `direction IN ('debit', 'credit')`)
@Check('ledger_entries_version_check', `account_version >= 1`)
@Unique('ledger_entries_account_version_key', ['ledgerId', 'accountId', 'accountVersion'])
@Index('ledger_entries_transfer_idx', ['transferId'])
@Index('ledger_entries_account_created_idx', ['accountId', 'createdAt'])
@Index('ledger_entries_currency_seq_idx', ['currency', 'seq'])
@Index('ledger_entries_created_at_idx', ['createdAt'])
@Check('ledger_entries_effective_at_check', EFFECTIVE_AT_CHECK)
// Backdated entries only, for balances by effective date (`countersAt`).
@Index('ledger_entries_backdated_effective_idx', ['accountId', 'effectiveAt'], { where: 'effective_at IS NOT NULL' })
@Index('ledger_entries_backdated_created_idx', ['accountId', 'createdAt'], { where: 'effective_at IS NOT NULL' })
export class LedgerEntry {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  seq: string;

  @Column('uuid', { unique: true })
  id: string;

  @Column('uuid', { name: 'ledger_id' })
  ledgerId: string;

  @Column('uuid', { name: 'transfer_id' })
  transferId: string;

  @ManyToOne(() => Transfer, { nullable: false, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'transfer_id' })
  transfer?: Relation<Transfer>;

  @Column('uuid', { name: 'account_id' })
  accountId: string;

  @ManyToOne(() => Account, { nullable: false, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'account_id' })
  account?: Relation<Account>;

  @Column('text')
  currency: string;

  @Column('text')
  direction: string;

  @Column('bigint')
  amount: string;

  @Column('bigint', { name: 'account_version' })
  accountVersion: string;

  @Column('bigint', { name: 'balance_after' })
  balanceAfter: string;

  /** Running posted counters of the account after this entry (not part of the hash; checked by verify). */
  @Column('bigint', { name: 'debits_after' })
  debitsAfter: string;

  @Column('bigint', { name: 'credits_after' })
  creditsAfter: string;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3 })
  createdAt: Date;

  /** When it counts in the books, if before it was recorded (SPEC 12); null: dated when written. */
  @Column('timestamp with time zone', { name: 'effective_at', precision: 3, nullable: true })
  effectiveAt: Date | null;

  @Column('text', { name: 'prev_hash' })
  prevHash: string;

  @Column('text')
  hash: string;
}
