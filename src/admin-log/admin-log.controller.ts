import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { ApiProblems } from '../http/api-problems.js';
import type { LogRecordView } from './admin-log-chain.js';
import { AdminLogPage, AdminLogQuery } from './admin-log.dto.js';
import { AdminLogService } from './admin-log.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Scoped('ledgers')
@Controller('v1/audit/log')
export class AdminLogController {
  constructor(private readonly log: AdminLogService) {}

  @Get()
  @ApiOperation({
    summary: 'The administrative log: every change that is not a ledger entry, and refused logins, oldest first',
    description:
      'Each record is chained to the one before by `hash` (SPEC 10); `GET /v1/audit/verify` checks the chain. A caller ' +
      'limited to ledgers sees only the records of its ledgers.',
  })
  @ApiOkResponse({ type: AdminLogPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: AdminLogQuery, @Scope() scope: LedgerScope): Promise<Page<LogRecordView>> {
    return this.log.list(q, scope);
  }
}
