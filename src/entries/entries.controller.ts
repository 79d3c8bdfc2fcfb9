import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import type { Page } from '../common/pagination.js';
import { ApiProblems } from '../http/api-problems.js';
import { ValidationFailed } from '../http/problem.js';
import { EntryPage, type EntryView, ExportQuery, JournalQuery } from './entries.dto.js';
import { EntriesService } from './entries.service.js';

@ApiTags('ledger')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Scoped('ledgers')
@Controller('v1/ledger')
export class EntriesController {
  constructor(private readonly service: EntriesService) {}

  @Get('entries')
  @ApiOperation({ summary: 'The journal: ledger entries in seq order, up to its horizon' })
  @ApiOkResponse({ type: EntryPage })
  @ApiProblems(400, 401, 403)
  entries(@Query() q: JournalQuery, @Scope() scope: LedgerScope): Promise<Page<EntryView>> {
    return this.service.entries(q, scope);
  }

  @Get('export')
  @ApiOperation({ summary: 'Export the journal as CSV or NDJSON, streamed' })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'every matching entry in seq order, streamed; CSV starts with a header row' })
  @ApiProblems(400, 401, 403)
  export(@Query() q: ExportQuery, @Scope() scope: LedgerScope, @Res() reply: FastifyReply): void {
    if (q.from !== undefined && q.to !== undefined && new Date(q.from) > new Date(q.to)) {
      throw new ValidationFailed([{ field: 'from', message: 'from must not be after to' }]);
    }
    const csv = q.format === 'csv';
    void reply
      .header('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="ledger-entries.${csv ? 'csv' : 'ndjson'}"`)
      .send(this.service.export(q, scope));
  }
}
