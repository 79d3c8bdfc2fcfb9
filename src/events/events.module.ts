import { Module } from '@nestjs/common';
import { EventsController } from './events.controller.js';
import { EventsService } from './events.service.js';

/** The outbox's feed (SPEC 13); the write entrance writes the events themselves (`event-rows.ts`). */
@Module({ controllers: [EventsController], providers: [EventsService] })
export class EventsModule {}
