import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import type { Page } from '../common/pagination.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { ApiMetadataFilter } from '../http/query-string.js';
import { noFields, uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  BatchView,
  CreateBatchDto,
  DryRunQuery,
  CreateTransferDto,
  PostTransferDto,
  ReverseTransferDto,
  TransferListQuery,
  TransferPage,
  TransferView,
  TransferWriteView,
} from './transfers.dto.js';
import { TransfersService } from './transfers.service.js';

/** Where money moves: each route validates (DTOs), calls one method of `TransfersService`, and answers its outcome. */
@ApiTags('transfers')
@ApiBearerAuth()
@Scoped('ledgers')
@Controller('v1/transfers')
export class TransfersController {
  constructor(private readonly transfers: TransfersService) {}

  @Post()
  @ApiOperation({ summary: 'Move money from one account to another' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransferWriteView })
  @ApiOkResponse({ type: TransferWriteView, description: 'a dry run: what the call would answer, with `dryRun: true`' })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateTransferDto,
    @Query() q: DryRunQuery,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transfers.create(dto, w, q.dryRun === 'true'), dryRunStatus(q));
  }

  @Post('batch')
  @ApiOperation({ summary: 'Create 1 to 100 transfers atomically: all or none' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: BatchView })
  @ApiOkResponse({ type: BatchView, description: 'a dry run: what the call would answer, with `dryRun: true`' })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async batch(
    @Body() dto: CreateBatchDto,
    @Query() q: DryRunQuery,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transfers.batch(dto, w, q.dryRun === 'true'), dryRunStatus(q));
  }

  @Post(':id/post')
  @HttpCode(200)
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({
    summary: 'Post all or part of a pending transfer',
    description:
      'Releases the whole reservation and posts `amount` (default: all of it), writing the entries now. Posting moves money, so both accounts must be active: 422 ACCOUNT_NOT_ACTIVE while either is frozen.',
  })
  @ApiOkResponse({ type: TransferWriteView })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415, 422, 503)
  async post(
    @Param('id', uuidParam) id: string,
    @Body() dto: PostTransferDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transfers.post(id, dto, w));
  }

  @Post(':id/void')
  @HttpCode(200)
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({
    summary: 'Void a pending transfer',
    description: 'Releases the reservation; nothing is posted, so this also goes through on a frozen account.',
  })
  @ApiOkResponse({ type: TransferWriteView })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  async void(
    @Param('id', uuidParam) id: string,
    @Body(noFields) _: unknown,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transfers.void(id, w));
  }

  @Post(':id/reverse')
  @ApiOperation({ summary: 'Reverse all or part of a posted transfer' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransferWriteView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async reverse(
    @Param('id', uuidParam) id: string,
    @Body() dto: ReverseTransferDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transfers.reverse(id, dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List transfers' })
  @ApiMetadataFilter('transfers')
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransferPage })
  @ApiProblems(400, 401)
  list(@Query() q: TransferListQuery, @Scope() scope: LedgerScope): Promise<Page<TransferView>> {
    return this.transfers.list(q, scope);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a transfer' })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransferView })
  @ApiProblems(400, 401, 404)
  get(
    @Param('id', uuidParam) id: string,
    @Query(noFields) _: unknown,
    @Scope() scope: LedgerScope,
  ): Promise<TransferView> {
    return this.transfers.get(id, scope);
  }
}

/** A dry run creates nothing: its answer is a 200, not the real call's 201. */
const dryRunStatus = (q: DryRunQuery): number | undefined => (q.dryRun === 'true' ? 200 : undefined);
