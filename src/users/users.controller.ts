import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import { type Page, PageQuery } from '../common/pagination.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { answer } from '../http/answer.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import { CreateUserDto, UpdateUserDto, UserPage, UserView } from './users.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiBearerAuth()
@Roles('admin')
// Users may be given any ledger, so only an admin who sees every ledger manages them.
@Scoped('unlimited')
@Controller('v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: UserView })
  @ApiProblems(400, 401, 403, 409, 422)
  async create(
    @Body() dto: CreateUserDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.users.create(dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List users' })
  @ApiOkResponse({ type: UserPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: PageQuery): Promise<Page<UserView>> {
    return this.users.list(q.limit, q.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user' })
  @ApiOkResponse({ type: UserView })
  @ApiProblems(400, 401, 403, 404)
  get(@Param('id', uuidParam) id: string, @Query(noFields) _: unknown): Promise<UserView> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a user's roles, password or disabled flag" })
  @ApiOkResponse({ type: UserView })
  @ApiProblems(400, 401, 403, 404)
  async update(
    @Param('id', uuidParam) id: string,
    @Body() dto: UpdateUserDto,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.users.update(id, dto, w));
  }
}
