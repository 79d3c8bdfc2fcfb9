import { Module } from '@nestjs/common';
import { JournalModule } from '../journal/journal.module.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';

@Module({ imports: [JournalModule], controllers: [AccountsController], providers: [AccountsService] })
export class AccountsModule {}
