import { Module } from '@nestjs/common';
import { EntriesModule } from '../entries/entries.module.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';

@Module({ imports: [EntriesModule], controllers: [AccountsController], providers: [AccountsService] })
export class AccountsModule {}
