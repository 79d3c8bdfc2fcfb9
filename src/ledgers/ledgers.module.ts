import { Module } from '@nestjs/common';
import { LedgerLookup } from './ledger-lookup.js';
import { LedgersController } from './ledgers.controller.js';
import { LedgersService } from './ledgers.service.js';

@Module({ controllers: [LedgersController], providers: [LedgersService, LedgerLookup], exports: [LedgerLookup] })
export class LedgersModule {}
