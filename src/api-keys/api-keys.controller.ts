import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import { type Page, PageQuery } from '../common/pagination.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields, uuidParam } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import { ApiKeyPage, ApiKeyView, CreateApiKeyDto, CreatedApiKeyView } from './api-keys.dto.js';
import { ApiKeysService } from './api-keys.service.js';

@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('admin')
// A key may be given any ledger, so only an admin who sees every ledger manages keys.
@Scoped('unlimited')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key for a service',
    description: 'The key is in this answer only; it is stored as a hash. Send it as `Authorization: Bearer lsk_…`.',
  })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  @ApiProblems(400, 401, 403, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateApiKeyDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.keys.create(dto, w));
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never the keys themselves)' })
  @ApiOkResponse({ type: ApiKeyPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: PageQuery): Promise<Page<ApiKeyView>> {
    return this.keys.list(q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an API key (never the key itself)' })
  @ApiOkResponse({ type: ApiKeyView })
  @ApiProblems(400, 401, 403, 404)
  get(@Param('id', uuidParam) id: string, @Query(noFields) _: unknown): Promise<ApiKeyView> {
    return this.keys.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key', description: 'Refused on every instance within 5 seconds.' })
  @ApiNoContentResponse({ description: 'revoked' })
  @ApiProblems(400, 401, 403, 404, 503)
  async revoke(
    @Param('id', uuidParam) id: string,
    @Write({ keyed: false }) w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.keys.revoke(id, w));
  }
}
