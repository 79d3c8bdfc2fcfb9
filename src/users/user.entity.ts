import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from '../auth/roles.decorator.js';

@Entity('users')
@Check('users_ledgers_check', `ledgers IS NULL OR cardinality(ledgers) >= 1`)
@Check('users_roles_check', `cardinality(roles) >= 1 AND roles <@ ARRAY['admin','operator','auditor']::text[]`)
export class User {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  username: string;

  /** lower(username): the unique key, so "Alice" and "alice" are one user. */
  @Column('text', { name: 'username_key', unique: true })
  usernameKey: string;

  /** Argon2id PHC string; never leaves the service. */
  @Column('text', { name: 'password_hash' })
  passwordHash: string;

  @Column('text', { array: true })
  roles: Role[];

  /** The ids of the ledgers the user is limited to (SPEC 9); null: every ledger. */
  @Column('uuid', { array: true, nullable: true })
  ledgers: string[] | null;

  @Column('boolean', { default: false })
  disabled: boolean;

  @Column('timestamp with time zone', { name: 'created_at', precision: 3, default: () => 'now()' })
  createdAt: Date;

  @Column('timestamp with time zone', { name: 'updated_at', precision: 3, default: () => 'now()' })
  updatedAt: Date;

  /** When the password was last changed; null: never since the user was created. */
  @Column('timestamp with time zone', { name: 'password_changed_at', precision: 3, nullable: true })
  passwordChangedAt: Date | null;
}
