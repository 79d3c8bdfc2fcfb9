import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import { parseAmount } from '../core/money.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { GroupCommitter } from '../database/group-commit.js';
import type { Tx } from '../database/serializable.js';
import { answer, IdempotentWrites } from '../idempotency/idempotent-writes.js';
import { ApiIdempotencyKey, Write, type WriteRequest } from '../idempotency/write-request.js';
import { type CreateRequest, TransferEngine } from './transfer-engine.js';
import { type TransferRecord, transferView } from './transfer-rows.js';
import {
  BatchView,
  CreateBatchDto,
  CreateTransferDto,
  PostTransferDto,
  ReverseTransferDto,
  TransferListQuery,
  TransferPage,
  TransferView,
} from './transfers.dto.js';
import { toNewTransfer, TransfersService } from './transfers.service.js';

/**
 * Where money moves: each write is validated here (DTOs), run by `IdempotentWrites` in one SERIALIZABLE
 * transaction around a unit of work of `TransferEngine`, and answered with the committed rows.
 */
@ApiTags('transfers')
@ApiBearerAuth()
@Controller('v1/transfers')
export class TransfersController {
  constructor(
    private readonly transfers: TransfersService,
    private readonly engine: TransferEngine,
    private readonly writes: IdempotentWrites,
    private readonly committer: GroupCommitter,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Move money from one account to another' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransferView })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateTransferDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return this.open(reply, { items: [dto], batchId: null, write: w, render: (rows) => transferView(rows[0]!) });
  }

  @Post('batch')
  @ApiOperation({ summary: 'Create 1 to 100 transfers atomically: all or none' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: BatchView })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async batch(
    @Body() dto: CreateBatchDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const batchId = randomUUID();
    const render = (rows: TransferRecord[]) => ({ batchId, transfers: rows.map((r) => transferView(r)) });
    return this.open(reply, { items: dto.transfers, batchId, write: w, render });
  }

  @Post(':id/post')
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({
    summary: 'Post all or part of a pending transfer',
    description:
      'Releases the whole reservation and posts `amount` (default: all of it), writing the entries now. Posting moves money, so both accounts must be active: 422 ACCOUNT_NOT_ACTIVE while either is frozen.',
  })
  @ApiOkResponse({ type: TransferView })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415, 422, 503)
  async post(
    @Param('id', uuidParam) id: string,
    @Body() dto: PostTransferDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const amount = dto.amount === undefined ? undefined : parseAmount(dto.amount);
    return this.settle(w, reply, 200, this.engine.post(id, amount));
  }

  @Post(':id/void')
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({
    summary: 'Void a pending transfer',
    description: 'Releases the reservation; nothing is posted, so this also goes through on a frozen account.',
  })
  @ApiOkResponse({ type: TransferView })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  async void(
    @Param('id', uuidParam) id: string,
    @Body(noFields) _: unknown,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.settle(w, reply, 200, this.engine.void(id));
  }

  @Post(':id/reverse')
  @ApiOperation({ summary: 'Reverse all or part of a posted transfer' })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransferView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async reverse(
    @Param('id', uuidParam) id: string,
    @Body() dto: ReverseTransferDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const amount = dto.amount === undefined ? undefined : parseAmount(dto.amount);
    return this.settle(w, reply, 201, this.engine.reverse(id, amount, dto.description));
  }

  /** New transfers go to the group commit's bulk path: checked in memory, written with the whole group. */
  private async open(
    reply: FastifyReply,
    request: Omit<CreateRequest, 'items'> & { items: CreateTransferDto[] },
  ): Promise<unknown> {
    const input: CreateRequest = { ...request, items: request.items.map(toNewTransfer) };
    return answer(reply, await this.committer.submitBulk(input.items.length, this.engine.createGroup, input));
  }

  /** Post, void and reverse act on an existing transfer, in the idempotent write path. */
  private settle(
    w: WriteRequest,
    reply: FastifyReply,
    status: number,
    work: (tx: Tx) => Promise<TransferRecord>,
  ): Promise<unknown> {
    return this.writes.respond(w, reply, status, async (tx) => transferView(await work(tx)));
  }

  @Get()
  @ApiOperation({ summary: 'List transfers' })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransferPage })
  @ApiProblems(400, 401)
  list(@Query() q: TransferListQuery): Promise<Page<TransferView>> {
    return this.transfers.list(q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a transfer' })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransferView })
  @ApiProblems(400, 401, 404)
  get(@Param('id', uuidParam) id: string, @Query(noFields) _: unknown): Promise<TransferView> {
    return this.transfers.get(id);
  }
}
