import { Body, Controller, Get, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Scope } from '../auth/authenticated-user.js';
import { Roles, Scoped } from '../auth/roles.decorator.js';
import type { Page } from '../common/pagination.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { answer } from '../http/answer.js';
import { ApiProblems } from '../http/api-problems.js';
import { noFields } from '../http/validation.js';
import { ApiIdempotencyKey, Write } from '../http/write-request.js';
import type { WriteRequest } from '../writes/write-request.js';
import {
  CheckpointListQuery,
  CheckpointPage,
  CheckpointView,
  ConsistencyProofView,
  ConsistencyQuery,
  CreateCheckpointDto,
  InclusionProofView,
  InclusionQuery,
  LedgerTreeQuery,
  VerifierKeysView,
} from './checkpoints.dto.js';
import { CheckpointsService } from './checkpoints.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin', 'auditor')
@Scoped('ledgers')
@Controller('v1/audit')
export class CheckpointsController {
  constructor(private readonly checkpoints: CheckpointsService) {}

  @Post('checkpoints')
  @ApiOperation({
    summary: 'Sign a checkpoint of a ledger’s Merkle tree now',
    description:
      'The tree is first brought up to the journal’s horizon. Checkpoints are also made every ' +
      'CHECKPOINT_INTERVAL_SECONDS for each ledger whose tree grew. Keep them: a later tree that does not extend ' +
      'one you kept proves history was rewritten.',
  })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CheckpointView })
  @ApiProblems(400, 401, 403, 404, 413, 415, 422, 503)
  async create(
    @Body() dto: CreateCheckpointDto,
    @Write() w: WriteRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return answer(reply, await this.checkpoints.create(dto.ledgerId, w));
  }

  @Get('checkpoints')
  @ApiOperation({ summary: 'List checkpoints, oldest first' })
  @ApiOkResponse({ type: CheckpointPage })
  @ApiProblems(400, 401, 403)
  list(@Query() q: CheckpointListQuery, @Scope() scope: LedgerScope): Promise<Page<CheckpointView>> {
    return this.checkpoints.list(q, scope);
  }

  @Get('checkpoints/latest')
  @ApiOperation({ summary: 'The latest checkpoint of a ledger' })
  @ApiOkResponse({ type: CheckpointView })
  @ApiProblems(400, 401, 403, 404)
  latest(@Query() q: LedgerTreeQuery, @Scope() scope: LedgerScope): Promise<CheckpointView> {
    return this.checkpoints.latest(q.ledgerId, scope);
  }

  @Get('checkpoints/keys')
  @ApiOperation({
    summary: 'The verifier keys of checkpoints (c2sp.org/signed-note)',
    description: 'The current signing key first, then every earlier key that signed a stored checkpoint.',
  })
  @ApiOkResponse({ type: VerifierKeysView })
  @ApiProblems(400, 401, 403)
  keys(@Query(noFields) _: unknown): Promise<VerifierKeysView> {
    return this.checkpoints.keys();
  }

  @Get('proofs/inclusion')
  @ApiOperation({
    summary: 'Proof that an entry is in a ledger’s tree (RFC 9162 section 2.1.3)',
    description: '422 INVALID_TREE_SIZE when `treeSize` exceeds the tree, or the entry is not within it (yet).',
  })
  @ApiOkResponse({ type: InclusionProofView })
  @ApiProblems(400, 401, 403, 404, 422)
  inclusion(@Query() q: InclusionQuery, @Scope() scope: LedgerScope): Promise<InclusionProofView> {
    return this.checkpoints.inclusion(q, scope);
  }

  @Get('proofs/consistency')
  @ApiOperation({
    summary: 'Proof that a ledger’s tree of size `from` is a prefix of its tree of size `to` (RFC 9162 2.1.4)',
    description: '422 INVALID_TREE_SIZE when `to` exceeds the tree or `from` exceeds `to`.',
  })
  @ApiOkResponse({ type: ConsistencyProofView })
  @ApiProblems(400, 401, 403, 404, 422)
  consistency(@Query() q: ConsistencyQuery, @Scope() scope: LedgerScope): Promise<ConsistencyProofView> {
    return this.checkpoints.consistency(q, scope);
  }
}
