import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import type { Page } from '../common/pagination.js';
import { ApiProblems } from '../http/api-problems.js';
import { ApiMetadataFilter } from '../http/query-string.js';
import { noFields, uuidParam } from '../http/validation.js';
import { answer } from '../http/answer.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  BalanceQuery,
  BalanceAsOfView,
  EntryListQuery,
  EntryPage,
  type EntryView,
  StatementQuery,
  StatementView,
} from '../entries/entries.dto.js';
import { ValidationFailed } from '../http/problem.js';
import { AccountListQuery, AccountPage, AccountView, CreateAccountDto, UpdateAccountDto } from './accounts.dto.js';
import { AccountsService } from './accounts.service.js';

@ApiTags('accounts')
@ApiBearerAuth()
@Scoped('ledgers')
@Controller('v1/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @ApiOperation({ summary: 'Open an account' })
  @ApiIdempotencyKey()
  @Roles('admin', 'operator')
  @ApiCreatedResponse({ type: AccountView })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateAccountDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.accounts.create(dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List accounts' })
  @ApiMetadataFilter('accounts')
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: AccountPage })
  @ApiProblems(400, 401)
  list(@Query() q: AccountListQuery, @Scope() scope: LedgerScope): Promise<Page<AccountView>> {
    return this.accounts.list(q, scope);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an account with its balances' })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: AccountView })
  @ApiProblems(400, 401, 404)
  get(
    @Param('id', uuidParam) id: string,
    @Query(noFields) _: unknown,
    @Scope() scope: LedgerScope,
  ): Promise<AccountView> {
    return this.accounts.get(id, scope);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Freeze, reactivate or close an account, or change its name or metadata' })
  @Roles('admin')
  @ApiOkResponse({ type: AccountView })
  @ApiProblems(400, 401, 403, 404, 409, 413, 415, 503)
  async update(
    @Param('id', uuidParam) id: string,
    @Body() dto: UpdateAccountDto,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.accounts.update(id, dto, w));
  }

  @Get(':id/balance')
  @ApiOperation({
    summary: "An account's posted balance as of an instant",
    description:
      'As the books stood at `asOf` by effective date (SPEC 12), counting only what was recorded by `knownAt`; both ' +
      'default to now and both count. `version` is the number of entries counted.',
  })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: BalanceAsOfView })
  @ApiProblems(400, 401, 404)
  balance(
    @Param('id', uuidParam) id: string,
    @Query() q: BalanceQuery,
    @Scope() scope: LedgerScope,
  ): Promise<BalanceAsOfView> {
    return this.accounts.balance(id, q, scope);
  }

  @Get(':id/statement')
  @ApiOperation({ summary: "An account's statement over a period" })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: StatementView })
  @ApiProblems(400, 401, 404)
  statement(
    @Param('id', uuidParam) id: string,
    @Query() q: StatementQuery,
    @Scope() scope: LedgerScope,
  ): Promise<StatementView> {
    const from = new Date(q.from ?? 0);
    const to = q.to === undefined ? new Date() : new Date(q.to);
    if (from > to) throw new ValidationFailed([{ field: 'from', message: 'from must not be after to' }]);
    return this.accounts.statement(id, from, to, scope);
  }

  @Get(':id/entries')
  @ApiOperation({ summary: "An account's ledger entries, in account version order" })
  @Roles('admin', 'operator', 'auditor')
  @ApiOkResponse({ type: EntryPage })
  @ApiProblems(400, 401, 404)
  entries(
    @Param('id', uuidParam) id: string,
    @Query() q: EntryListQuery,
    @Scope() scope: LedgerScope,
  ): Promise<Page<EntryView>> {
    return this.accounts.entries(id, q, scope);
  }
}
