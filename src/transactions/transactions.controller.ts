import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import { DryRunQuery } from '../transfers/transfers.dto.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  CreateTransactionDto,
  ReverseTransactionDto,
  TransactionListQuery,
  TransactionPage,
  TransactionView,
  TransactionWriteView,
} from './transactions.dto.js';
import { TransactionsService } from './transactions.service.js';

/** Postings moved as one unit (SPEC 11): each route validates, calls one method of the service, answers its outcome. */
@ApiTags('transactions')
@ApiBearerAuth()
@Scoped('ledgers')
@Controller('v1/transactions')
export class TransactionsController {
  constructor(private readonly transactions: TransactionsService) {}

  @Post()
  @ApiOperation({
    summary: 'Move money among any number of accounts of one ledger as one balanced unit',
    description:
      '2 to 100 postings; for each currency the debits equal the credits (else 422 UNBALANCED_TRANSACTION). ' +
      'Funds and `conditions` judge each account once the whole transaction is applied; a refusal caused by one ' +
      'posting names its `index`. `lockVersion`: the account must be at exactly that version (else 409 ' +
      'ACCOUNT_VERSION_CONFLICT). Posted, it writes one entry per posting, in posting order.',
  })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransactionWriteView })
  @ApiOkResponse({
    type: TransactionWriteView,
    description: 'a dry run: what the call would answer, with `dryRun: true`',
  })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateTransactionDto,
    @Query() q: DryRunQuery,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const dryRun = q.dryRun === 'true';
    return answer(reply, await this.transactions.create(dto, w, dryRun), dryRun ? 200 : undefined);
  }

  @Post(':id/post')
  @HttpCode(200)
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({
    summary: 'Post a pending transaction whole',
    description: 'Releases every reservation and enters every posting. Every account must be active.',
  })
  @ApiOkResponse({ type: TransactionWriteView })
  @ApiProblems(400, 401, 403, 404, 409, 422, 503)
  async post(
    @Param('id', uuidParam) id: string,
    @Body(noFields) _: unknown,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transactions.post(id, w));
  }

  @Post(':id/void')
  @HttpCode(200)
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiOperation({ summary: 'Void a pending transaction', description: 'Releases every reservation.' })
  @ApiOkResponse({ type: TransactionWriteView })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  async void(
    @Param('id', uuidParam) id: string,
    @Body(noFields) _: unknown,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transactions.void(id, w));
  }

  @Post(':id/reverse')
  @ApiOperation({
    summary: 'Reverse a posted transaction, once',
    description:
      'A new posted transaction with every direction flipped and `reversalOf` set; funds are judged, conditions ' +
      'and versions are not copied. A second reversal: 409 ALREADY_REVERSED.',
  })
  @ApiIdempotencyKey()
  @Roles('operator')
  @ApiCreatedResponse({ type: TransactionWriteView })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415, 422, 503)
  async reverse(
    @Param('id', uuidParam) id: string,
    @Body() dto: ReverseTransactionDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.transactions.reverse(id, dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List transactions, transfers included (as two postings)' })
  @ApiQuery({
    name: 'metadata',
    required: false,
    style: 'deepObject',
    explode: true,
    schema: { type: 'object', additionalProperties: { type: 'string' } },
    description: '`metadata[key]=value`, any number: only those whose metadata holds every pair',
  })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransactionPage })
  @ApiProblems(400, 401)
  list(@Query() q: TransactionListQuery, @Scope() scope: LedgerScope): Promise<Page<TransactionView>> {
    return this.transactions.list(q, scope);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a transaction (or a transfer, as two postings)' })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: TransactionView })
  @ApiProblems(400, 401, 404)
  get(
    @Param('id', uuidParam) id: string,
    @Query(noFields) _: unknown,
    @Scope() scope: LedgerScope,
  ): Promise<TransactionView> {
    return this.transactions.get(id, scope);
  }
}
