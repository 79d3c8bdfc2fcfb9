import { Module } from '@nestjs/common';
import { EntriesController } from './entries.controller.js';
import { EntriesService } from './entries.service.js';

/** The journal of ledger entries: the auditor routes under /v1/ledger, and the per-account reads of it. */
@Module({ controllers: [EntriesController], providers: [EntriesService], exports: [EntriesService] })
export class EntriesModule {}
