import { Global, Module } from '@nestjs/common';
import { Serializable } from '../database/serializable.js';
import { IdempotentWrites } from './idempotent-writes.js';

@Global()
@Module({ providers: [Serializable, IdempotentWrites], exports: [Serializable, IdempotentWrites] })
export class WritesModule {}
