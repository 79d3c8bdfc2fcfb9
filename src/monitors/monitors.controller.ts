import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
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
import { uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import { CreateMonitorDto, MonitorListQuery, MonitorPage, MonitorView } from './monitors.dto.js';
import { MonitorsService } from './monitors.service.js';

@ApiTags('balance monitors')
@ApiBearerAuth()
@Scoped('ledgers')
@Controller('v1/balance-monitors')
export class MonitorsController {
  constructor(private readonly monitors: MonitorsService) {}

  @Post()
  @Roles('admin', 'operator')
  @ApiOperation({
    summary: 'Watch an account’s balance (SPEC 13)',
    description:
      'When a write turns the condition from false to true, a `balance.monitor.triggered` event naming the monitor ' +
      'and the account’s balances is written in that write’s transaction. A condition already true when the ' +
      'monitor is made fires the next time it turns true. An unknown account is 422 ACCOUNT_NOT_FOUND.',
  })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: MonitorView })
  @ApiProblems(400, 401, 403, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateMonitorDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.monitors.create(dto, w));
  }

  @Get()
  @Roles('admin', 'operator', 'auditor')
  @ApiOperation({ summary: 'List balance monitors, oldest first' })
  @ApiOkResponse({ type: MonitorPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: MonitorListQuery, @Scope() scope: LedgerScope): Promise<Page<MonitorView>> {
    return this.monitors.list(q, scope);
  }

  @Get(':id')
  @Roles('admin', 'operator', 'auditor')
  @ApiOperation({ summary: 'A balance monitor' })
  @ApiOkResponse({ type: MonitorView })
  @ApiProblems(400, 401, 403, 404)
  get(@Param('id', uuidParam) id: string, @Scope() scope: LedgerScope): Promise<MonitorView> {
    return this.monitors.get(id, scope);
  }

  @Delete(':id')
  @Roles('admin', 'operator')
  @HttpCode(204)
  @ApiOperation({ summary: 'Stop watching' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404, 503)
  async remove(
    @Param('id', uuidParam) id: string,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.monitors.remove(id, w));
  }
}
