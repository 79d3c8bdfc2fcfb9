import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { ApiProblems } from '../http/api-problems.js';
import { TrialBalanceQuery, TrialBalanceView, VerifyQuery, VerifyView } from './audit.dto.js';
import { AuditService } from './audit.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Scoped('ledgers')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('trial-balance')
  @ApiOperation({ summary: 'Trial balance per ledger and currency as of an instant' })
  @ApiOkResponse({ type: TrialBalanceView })
  @ApiProblems(400, 401, 403)
  trialBalance(@Query() q: TrialBalanceQuery, @Scope() scope: LedgerScope): Promise<TrialBalanceView> {
    return this.audit.trialBalance(q.asOf === undefined ? new Date() : new Date(q.asOf), q.ledgerId, scope);
  }

  @Get('verify')
  @ApiOperation({ summary: 'Verify hash chains, balances and double entry' })
  @ApiOkResponse({ type: VerifyView })
  @ApiProblems(400, 401, 403)
  verify(@Query() q: VerifyQuery, @Scope() scope: LedgerScope): Promise<VerifyView> {
    return this.audit.verify(q.ledgerId, scope);
  }
}
