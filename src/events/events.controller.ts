import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { ApiProblems } from '../http/api-problems.js';
import { EventPage, EventQuery } from './events.dto.js';
import { EventsService } from './events.service.js';

@ApiTags('events')
@ApiBearerAuth()
@Roles('admin', 'operator', 'auditor')
@Scoped('ledgers')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({
    summary: 'Every change as an event, in seq order (SPEC 13)',
    description:
      'Events committed with their changes, handed out in `seq` order and only up to the horizon below which ' +
      'nothing can still commit, so a reader passing the last `seq` it has as `after` never skips one. With ' +
      '`waitSeconds`, an answer with nothing in it waits until something arrives (woken by PostgreSQL ' +
      'NOTIFY), or the time is up.',
  })
  @ApiOkResponse({ type: EventPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: EventQuery, @Scope() scope: LedgerScope): Promise<EventPage> {
    return this.events.list(q, scope);
  }
}
