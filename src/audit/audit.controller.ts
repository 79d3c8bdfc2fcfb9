import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields } from '../http/validation.js';
import { TrialBalanceQuery, TrialBalanceView, VerifyView } from './audit.dto.js';
import { AuditService } from './audit.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('trial-balance')
  @ApiOperation({ summary: 'Trial balance per ledger and currency as of an instant' })
  @ApiOkResponse({ type: TrialBalanceView })
  @ApiProblems(400, 401, 403)
  trialBalance(@Query() q: TrialBalanceQuery): Promise<TrialBalanceView> {
    return this.audit.trialBalance(q.asOf === undefined ? new Date() : new Date(q.asOf), q.ledgerId);
  }

  @Get('verify')
  @ApiOperation({ summary: 'Verify hash chains, balances and double entry' })
  @ApiOkResponse({ type: VerifyView })
  @ApiProblems(401, 403)
  verify(@Query(noFields) _: unknown): Promise<VerifyView> {
    return this.audit.verify();
  }
}
