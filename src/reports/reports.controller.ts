import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { ApiProblems } from '../http/api-problems.js';
import { BalanceSheetQuery, BalanceSheetView, IncomeStatementQuery, IncomeStatementView } from './reports.dto.js';
import { ReportsService } from './reports.service.js';

@ApiTags('reports')
@ApiBearerAuth()
@Roles('admin', 'operator', 'auditor')
@Scoped('ledgers')
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('balance-sheet')
  @ApiOperation({
    summary: 'Balance sheet of a ledger in one currency as of an instant (SPEC 12)',
    description: 'Assets, liabilities and equity by category, retained earnings (revenue − expense to date).',
  })
  @ApiOkResponse({ type: BalanceSheetView })
  @ApiProblems(400, 401, 403, 404)
  balanceSheet(@Query() q: BalanceSheetQuery, @Scope() scope: LedgerScope): Promise<BalanceSheetView> {
    return this.reports.balanceSheet(q, scope);
  }

  @Get('income-statement')
  @ApiOperation({ summary: 'Income statement of a ledger in one currency over [from, to) (SPEC 12)' })
  @ApiOkResponse({ type: IncomeStatementView })
  @ApiProblems(400, 401, 403, 404)
  incomeStatement(@Query() q: IncomeStatementQuery, @Scope() scope: LedgerScope): Promise<IncomeStatementView> {
    return this.reports.incomeStatement(q, scope);
  }
}
