import { Module } from '@nestjs/common';
import { LedgersModule } from '../ledgers/ledgers.module.js';
import { TransactionsController } from './transactions.controller.js';
import { TransactionsService } from './transactions.service.js';

@Module({ imports: [LedgersModule], controllers: [TransactionsController], providers: [TransactionsService] })
export class TransactionsModule {}
