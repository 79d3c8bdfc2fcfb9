import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { ApiMetadataFilter } from '../http/query-string.js';
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

const posting = (accountId: string, direction: 'debit' | 'credit', amount: string, currency = 'USD') => ({
  accountId,
  direction,
  amount,
  currency,
});

/** The request bodies the OpenAPI document shows (SPEC 11's fee split, FX, and a wallet limit). */
const TRANSACTION_EXAMPLES = {
  feeSplit: {
    summary: 'a card payment with an interchange fee',
    value: {
      postings: [
        posting('5f0c6b2e-1d7a-4c3e-9b1a-2f3e4d5c6b7a', 'debit', '1000'),
        posting('8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 'credit', '970'),
        posting('0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a', 'credit', '30'),
      ],
      description: 'card payment',
      metadata: { order: 'o-1' },
    },
  },
  fx: {
    summary: 'a currency exchange through FX accounts',
    value: {
      postings: [
        posting('5f0c6b2e-1d7a-4c3e-9b1a-2f3e4d5c6b7a', 'debit', '5000'),
        posting('3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9', 'credit', '5000'),
        posting('7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c2b', 'debit', '4600', 'EUR'),
        posting('1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', 'credit', '4600', 'EUR'),
      ],
    },
  },
  walletLimit: {
    summary: 'a top-up that must not take the wallet above 10,000.00',
    value: {
      postings: [
        posting('9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', 'debit', '50000'),
        {
          ...posting('8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 'credit', '50000'),
          lockVersion: 12,
          conditions: { available: { lte: '1000000' } },
        },
      ],
    },
  },
};

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
      'ACCOUNT_VERSION_CONFLICT). Posted, it writes one entry per posting, in posting order.\n\n' +
      'A card payment with its fee, with curl:\n\n' +
      '```\ncurl localhost:3000/v1/transactions -H "authorization: Bearer $OP" -H "content-type: application/json" \\\n' +
      '  -H "Idempotency-Key: payment-0001" -d \'{"postings":[\n' +
      '  {"accountId":"<payer>","direction":"debit","amount":"1000","currency":"USD"},\n' +
      '  {"accountId":"<merchant>","direction":"credit","amount":"970","currency":"USD"},\n' +
      '  {"accountId":"<fees>","direction":"credit","amount":"30","currency":"USD"}]}\'\n```\n\n' +
      'A currency exchange through FX accounts, each currency balanced on its own:\n\n' +
      '```\ncurl localhost:3000/v1/transactions -H "authorization: Bearer $OP" -H "content-type: application/json" \\\n' +
      '  -d \'{"postings":[\n' +
      '  {"accountId":"<alice USD>","direction":"debit","amount":"5000","currency":"USD"},\n' +
      '  {"accountId":"<fx USD>","direction":"credit","amount":"5000","currency":"USD"},\n' +
      '  {"accountId":"<fx EUR>","direction":"debit","amount":"4600","currency":"EUR"},\n' +
      '  {"accountId":"<alice EUR>","direction":"credit","amount":"4600","currency":"EUR"}]}\'\n```',
  })
  @ApiBody({ type: CreateTransactionDto, examples: TRANSACTION_EXAMPLES })
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
  @ApiMetadataFilter('transactions and transfers')
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
