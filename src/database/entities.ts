import { AdminLogRecord } from '../admin-log/admin-log.entity.js';
import { Account } from '../accounts/account.entity.js';
import { IdempotencyKey } from '../writes/idempotency-key.entity.js';
import { LedgerEntry } from '../entries/ledger-entry.entity.js';
import { ApiKey } from '../api-keys/api-key.entity.js';
import { Ledger } from '../ledgers/ledger.entity.js';
import { Transaction } from '../transactions/transaction.entity.js';
import { Transfer } from '../transfers/transfer.entity.js';
import { User } from '../users/user.entity.js';

/** Every TypeORM entity, for the data source and for the migration drift check. */
export const ENTITIES: Function[] = [
  User,
  IdempotencyKey,
  Ledger,
  Account,
  Transfer,
  Transaction,
  LedgerEntry,
  ApiKey,
  AdminLogRecord,
];
