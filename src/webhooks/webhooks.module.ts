import { Module } from '@nestjs/common';
import { WebhookWorker } from './webhook-worker.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/** Webhooks (SPEC 13): their routes, and the worker that delivers events to them. */
@Module({ controllers: [WebhooksController], providers: [WebhooksService, WebhookWorker] })
export class WebhooksModule {}
