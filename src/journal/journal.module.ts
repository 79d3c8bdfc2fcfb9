import { Module } from '@nestjs/common';
import { JournalService } from './journal.service.js';
import { LedgerController } from './ledger.controller.js';

@Module({ controllers: [LedgerController], providers: [JournalService], exports: [JournalService] })
export class JournalModule {}
