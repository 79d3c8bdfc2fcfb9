import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  CategoryBalanceQuery,
  CategoryBalanceView,
  CategoryListQuery,
  CategoryPage,
  CategoryView,
  CreateCategoryDto,
  UpdateCategoryDto,
} from './categories.dto.js';
import { CategoriesService } from './categories.service.js';

@ApiTags('categories')
@ApiBearerAuth()
@Scoped('ledgers')
@Controller('v1/categories')
export class CategoriesController {
  constructor(private readonly categories: CategoriesService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a category of accounts, for reports (SPEC 12)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CategoryView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateCategoryDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.categories.create(dto, w));
  }

  @Get()
  @Roles('admin', 'operator', 'auditor')
  @ApiOperation({ summary: 'List categories, oldest first' })
  @ApiOkResponse({ type: CategoryPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: CategoryListQuery, @Scope() scope: LedgerScope): Promise<Page<CategoryView>> {
    return this.categories.list(q, scope);
  }

  @Get(':id')
  @Roles('admin', 'operator', 'auditor')
  @ApiOperation({ summary: 'Get a category' })
  @ApiOkResponse({ type: CategoryView })
  @ApiProblems(400, 401, 403, 404)
  get(
    @Param('id', uuidParam) id: string,
    @Query(noFields) _: unknown,
    @Scope() scope: LedgerScope,
  ): Promise<CategoryView> {
    return this.categories.get(id, scope);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Rename a category or move it under another parent (a cycle: 422 CATEGORY_CYCLE)' })
  @ApiOkResponse({ type: CategoryView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async update(
    @Param('id', uuidParam) id: string,
    @Body() dto: UpdateCategoryDto,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.categories.update(id, dto, w));
  }

  @Put(':id/accounts/:accountId')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Put an account of the same ledger in the category (again: nothing changes)' })
  @ApiNoContentResponse({ description: 'a member' })
  @ApiProblems(400, 401, 403, 404, 422, 503)
  async addAccount(
    @Param('id', uuidParam) id: string,
    @Param('accountId', uuidParam) accountId: string,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.categories.membership(id, accountId, true, w));
  }

  @Delete(':id/accounts/:accountId')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Take an account out of the category (not a member: nothing changes)' })
  @ApiNoContentResponse({ description: 'not a member' })
  @ApiProblems(400, 401, 403, 404, 422, 503)
  async removeAccount(
    @Param('id', uuidParam) id: string,
    @Param('accountId', uuidParam) accountId: string,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.categories.membership(id, accountId, false, w));
  }

  @Get(':id/balance')
  @Roles('admin', 'operator', 'auditor')
  @ApiOperation({
    summary: 'Balance of a category and its descendants per currency, each account counted once',
  })
  @ApiOkResponse({ type: CategoryBalanceView })
  @ApiProblems(400, 401, 403, 404)
  balance(
    @Param('id', uuidParam) id: string,
    @Query() q: CategoryBalanceQuery,
    @Scope() scope: LedgerScope,
  ): Promise<CategoryBalanceView> {
    return this.categories.balance(id, q.asOf === undefined ? new Date() : new Date(q.asOf), scope);
  }
}
