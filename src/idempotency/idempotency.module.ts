import { Global, Module } from '@nestjs/common';
import { GroupCommitter } from '../database/group-commit.js';
import { Serializable } from '../database/serializable.js';
import { IdempotentWrites } from './idempotent-writes.js';

/** The write path every module uses: group commit over the SERIALIZABLE retry helper, with idempotency keys. */
@Global()
@Module({
  providers: [Serializable, GroupCommitter, IdempotentWrites],
  exports: [GroupCommitter, IdempotentWrites],
})
export class WritesModule {}
