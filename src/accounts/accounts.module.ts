import { Module } from '@nestjs/common';
import { EntriesModule } from '../entries/entries.module.js';
import { LedgersModule } from '../ledgers/ledgers.module.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';

@Module({ imports: [EntriesModule, LedgersModule], controllers: [AccountsController], providers: [AccountsService] })
export class AccountsModule {}
