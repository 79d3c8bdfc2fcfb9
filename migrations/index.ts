import { UsersAndIdempotency1763700000000 } from './1763700000000-users-and-idempotency.js';
import { Ledger1763700000001 } from './1763700000001-ledger.js';
import { PartialTransferIndexes1764600000000 } from './1764600000000-partial-transfer-indexes.js';
import { ReferenceChecks1764800000000 } from './1764800000000-reference-checks.js';
import { IdempotencyRefusals1765000000000 } from './1765000000000-idempotency-refusals.js';
import { Ledgers1765100000000 } from './1765100000000-ledgers.js';
import { UserLedgers1765200000000 } from './1765200000000-user-ledgers.js';
import { LedgerLeadingKeys1765300000000 } from './1765300000000-ledger-leading-keys.js';
import { ApiKeys1765400000000 } from './1765400000000-api-keys.js';
import { ReferenceChecksById1765500000000 } from './1765500000000-reference-checks-by-id.js';
import { Actors1765700000000 } from './1765700000000-actors.js';
import { AdminLog1765800000000 } from './1765800000000-admin-log.js';
import { AccountMetadataIndex1765900000000 } from './1765900000000-account-metadata-index.js';
import { Transactions1766000000000 } from './1766000000000-transactions.js';
import { MetadataFilterIndexes1766100000000 } from './1766100000000-metadata-filter-indexes.js';
import { MerkleTree1766200000000 } from './1766200000000-merkle-tree.js';
import { AccountTypes1766300000000 } from './1766300000000-account-types.js';
import { Categories1766400000000 } from './1766400000000-categories.js';
import { EffectiveDates1766500000000 } from './1766500000000-effective-dates.js';
import { Events1766600000000 } from './1766600000000-events.js';
import { Webhooks1766700000000 } from './1766700000000-webhooks.js';
import { BalanceMonitors1766800000000 } from './1766800000000-balance-monitors.js';
import { MonitoredAccounts1766900000000 } from './1766900000000-monitored-accounts.js';
import { DropLedgerSeqIndexes1765600000000 } from './1765600000000-drop-ledger-seq-indexes.js';

/** Every migration in order; listed explicitly so the same code runs compiled, under ts-jest and in the CLI. */
export const MIGRATIONS: Function[] = [
  UsersAndIdempotency1763700000000,
  Ledger1763700000001,
  PartialTransferIndexes1764600000000,
  ReferenceChecks1764800000000,
  IdempotencyRefusals1765000000000,
  Ledgers1765100000000,
  UserLedgers1765200000000,
  LedgerLeadingKeys1765300000000,
  ApiKeys1765400000000,
  ReferenceChecksById1765500000000,
  DropLedgerSeqIndexes1765600000000,
  Actors1765700000000,
  AdminLog1765800000000,
  AccountMetadataIndex1765900000000,
  Transactions1766000000000,
  MetadataFilterIndexes1766100000000,
  MerkleTree1766200000000,
  AccountTypes1766300000000,
  Categories1766400000000,
  EffectiveDates1766500000000,
  Events1766600000000,
  Webhooks1766700000000,
  BalanceMonitors1766800000000,
  MonitoredAccounts1766900000000,
];
