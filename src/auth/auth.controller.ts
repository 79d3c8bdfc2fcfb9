import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblems } from '../http/api-problems.js';
import { noFields } from '../http/validation.js';
import { MeView, TokenRequestDto, TokenView } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { type AuthenticatedUser, CurrentUser } from './authenticated-user.js';
import { Public, Roles, Scoped } from './roles.decorator.js';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('token')
  @ApiOperation({ summary: 'Exchange a username and password for an access token' })
  @HttpCode(200)
  @ApiOkResponse({ type: TokenView })
  @ApiProblems(400, 401, 413, 415, 429)
  token(@Body() dto: TokenRequestDto, @Req() request: FastifyRequest): Promise<TokenView> {
    return this.auth.issueToken(dto.username, dto.password, request.ip);
  }

  @Roles('admin', 'operator', 'auditor')
  @Scoped('caller')
  @ApiBearerAuth()
  @Get('me')
  @ApiOperation({ summary: 'The authenticated user, with its roles and ledgers' })
  @ApiOkResponse({ type: MeView })
  @ApiProblems(401)
  me(@CurrentUser() user: AuthenticatedUser, @Query(noFields) _: unknown): MeView {
    return { id: user.id, username: user.username, roles: user.roles, ledgers: user.ledgers };
  }
}
