import { Module } from '@nestjs/common';
import { MonitorsController } from './monitors.controller.js';
import { MonitorsService } from './monitors.service.js';

/** Balance monitors (SPEC 13); they fire in the database, in the write's transaction. */
@Module({ controllers: [MonitorsController], providers: [MonitorsService] })
export class MonitorsModule {}
