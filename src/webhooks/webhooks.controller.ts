import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  CreateWebhookDto,
  DeliveryPage,
  type DeliveryView,
  ReplayWebhookDto,
  SecretView,
  UpdateWebhookDto,
  WebhookListQuery,
  WebhookPage,
  WebhookView,
  WebhookWithSecretView,
} from './webhooks.dto.js';
import { WebhooksService } from './webhooks.service.js';

@ApiTags('webhooks')
@ApiBearerAuth()
@Roles('admin')
@Scoped('ledgers')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe a URL to events (SPEC 13)',
    description:
      'Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), in seq order, from ' +
      'the events after its creation on. The secret is shown once. A URL that resolves to a loopback, private, ' +
      'link-local, CGNAT, multicast or metadata address is refused at every delivery (WEBHOOK_ALLOW_PRIVATE).',
  })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: WebhookWithSecretView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 503)
  async create(
    @Body() dto: CreateWebhookDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.webhooks.create(dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List webhooks, oldest first' })
  @ApiOkResponse({ type: WebhookPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: WebhookListQuery, @Scope() scope: LedgerScope): Promise<Page<WebhookView>> {
    return this.webhooks.list(q, scope);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A webhook (never its secret)' })
  @ApiOkResponse({ type: WebhookView })
  @ApiProblems(400, 401, 403, 404)
  get(@Param('id', uuidParam) id: string, @Scope() scope: LedgerScope): Promise<WebhookView> {
    return this.webhooks.get(id, scope);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change its URL or types, or disable and enable it' })
  @ApiOkResponse({ type: WebhookView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 503)
  async update(
    @Param('id', uuidParam) id: string,
    @Body() dto: UpdateWebhookDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.webhooks.update(id, dto, w));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Stop delivering to it, for good' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404, 503)
  async remove(
    @Param('id', uuidParam) id: string,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.webhooks.remove(id, w));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Every delivery attempt, newest first' })
  @ApiOkResponse({ type: DeliveryPage })
  @ApiProblems(400, 401, 403, 404)
  deliveries(
    @Param('id', uuidParam) id: string,
    @Query() q: WebhookListQuery,
    @Scope() scope: LedgerScope,
  ): Promise<Page<DeliveryView>> {
    return this.webhooks.deliveries(id, q, scope);
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deliver again, in order, every matching event after `after`' })
  @ApiOkResponse({ type: WebhookView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 503)
  async replay(
    @Param('id', uuidParam) id: string,
    @Body() dto: ReplayWebhookDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.webhooks.replay(id, dto, w));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new secret; the old one signs beside it for 24 hours' })
  @ApiOkResponse({ type: SecretView })
  @ApiProblems(400, 401, 403, 404, 503)
  async rotate(
    @Param('id', uuidParam) id: string,
    @Body(noFields) _body: unknown,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.webhooks.rotateSecret(id, w));
  }
}
