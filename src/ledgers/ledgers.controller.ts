import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { type Page, PageQuery } from '../common/pagination.js';
import { isLedgerRef, isUuidShaped } from '../common/validators.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { ValidationFailed } from '../http/problem.js';
import { noFields } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import { CloseLedgerDto, CreateLedgerDto, LedgerPage, LedgerView, UpdateLedgerDto } from './ledgers.dto.js';
import { LedgersService } from './ledgers.service.js';

/** `:idOrName`: a UUID or a ledger name; anything else is a 400, never a database error. */
const idOrNameParam = {
  transform(value: string): string {
    const ref = isUuidShaped(value.toLowerCase()) ? value.toLowerCase() : value;
    if (isLedgerRef(ref)) return ref;
    throw new ValidationFailed([{ field: 'idOrName', message: 'must be a ledger id (UUID) or name' }]);
  },
};

@ApiTags('ledgers')
@ApiBearerAuth()
@Controller('v1/ledgers')
export class LedgersController {
  constructor(private readonly ledgers: LedgersService) {}

  @Post()
  @Roles('admin')
  @Scoped('unlimited')
  @ApiOperation({ summary: 'Create a ledger', description: 'An independent book; money never moves between ledgers.' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: LedgerView })
  @ApiProblems(400, 401, 403, 409, 413, 415, 503)
  async create(
    @Body() dto: CreateLedgerDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.ledgers.create(dto, w));
  }

  @Get()
  @Roles('admin', 'operator', 'auditor')
  @Scoped('ledgers')
  @ApiOperation({ summary: 'List ledgers' })
  @ApiOkResponse({ type: LedgerPage })
  @ApiProblems(400, 401)
  list(@Query() q: PageQuery, @Scope() scope: LedgerScope): Promise<Page<LedgerView>> {
    return this.ledgers.list(q, scope);
  }

  @Get(':idOrName')
  @Roles('admin', 'operator', 'auditor')
  @Scoped('ledgers')
  @ApiOperation({ summary: 'Get a ledger by id or name' })
  @ApiParam({ name: 'idOrName', description: 'the ledger id (UUID) or its name' })
  @ApiOkResponse({ type: LedgerView })
  @ApiProblems(400, 401, 404)
  get(
    @Param('idOrName', idOrNameParam) idOrName: string,
    @Query(noFields) _: unknown,
    @Scope() scope: LedgerScope,
  ): Promise<LedgerView> {
    return this.ledgers.get(idOrName, scope);
  }

  @Patch(':idOrName')
  @Roles('admin')
  @Scoped('ledgers')
  @ApiOperation({ summary: "Change a ledger's description or metadata" })
  @ApiParam({ name: 'idOrName', description: 'the ledger id (UUID) or its name' })
  @ApiOkResponse({ type: LedgerView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 503)
  async update(
    @Param('idOrName', idOrNameParam) idOrName: string,
    @Body() dto: UpdateLedgerDto,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.ledgers.update(idOrName, dto, w));
  }

  @Post(':idOrName/close')
  @Roles('admin')
  @Scoped('ledgers')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Close the books up to an instant',
    description:
      '`closedUntil` moves to `until` (at most now, after the current one, else 422 INVALID_PERIOD); the close is ' +
      'logged and a checkpoint of the ledger is signed with it. From then on a movement dated before `closedUntil` ' +
      'is 422 PERIOD_CLOSED (SPEC 12).\n\n' +
      'A month end to end: book November, including a settlement of 28 November booked late with ' +
      '`"effectiveAt": "2026-11-28T16:30:00.000Z"`; read ' +
      '`GET /v1/accounts/{bank}/balance?asOf=2026-11-30T23:59:59.999Z` (and with `knownAt` before the late booking, ' +
      'the figure reported then); close with `{"until": "2026-12-01T00:00:00.000Z"}`; a transfer dated 30 November ' +
      'is then 422 PERIOD_CLOSED; print `GET /v1/reports/balance-sheet?ledgerId=shop&asOf=2026-11-30T23:59:59.999Z` ' +
      'and `GET /v1/reports/income-statement?ledgerId=shop&from=2026-11-01T00:00:00.000Z&to=2026-12-01T00:00:00.000Z`. ' +
      'The README walks through it with curl.',
  })
  @ApiParam({ name: 'idOrName', description: 'the ledger id (UUID) or its name' })
  @ApiIdempotencyKey()
  @ApiOkResponse({ type: LedgerView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async close(
    @Param('idOrName', idOrNameParam) idOrName: string,
    @Body() dto: CloseLedgerDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.ledgers.close(idOrName, dto, w));
  }
}
