import { Global, Module } from '@nestjs/common';
import { Serializable } from './serializable.js';
import { Writes } from './writes.js';

/** The one entrance for every write: group commit over the SERIALIZABLE runner, with idempotency keys. */
@Global()
@Module({ providers: [Serializable, Writes], exports: [Writes] })
export class WritesModule {}
