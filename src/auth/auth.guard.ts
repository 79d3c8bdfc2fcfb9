import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportGuard } from '@nestjs/passport';
import { Problem } from '../http/problem.js';
import { ExtractJwt } from 'passport-jwt';
import { API_KEY_PREFIX } from '../api-keys/api-key-secret.js';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { ExternalTokens } from './external-tokens.js';
import { JwtStrategy } from './jwt.strategy.js';
import { PUBLIC_KEY, type Role, ROLES_KEY, type Scoping, SCOPING_KEY } from './roles.decorator.js';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * The one global guard, deny by default: a route is reachable only when it is `@Public()` or names both its
 * roles (`@Roles()`) and how the caller's ledgers limit it (`@Scoped()`); a route without them is refused for
 * everyone, authenticated or not.
 */
@Injectable()
export class AuthGuard extends PassportGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtStrategy,
    private readonly apiKeys: ApiKeysService,
    private readonly external: ExternalTokens,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles === undefined) throw new Problem(403, 'FORBIDDEN', 'this route declares no roles');
    const scoping = this.reflector.getAllAndOverride<Scoping | undefined>(SCOPING_KEY, targets);
    if (scoping === undefined) throw new Problem(403, 'FORBIDDEN', 'this route declares no ledger scoping');
    const request = context.switchToHttp().getRequest<{ user: AuthenticatedUser; headers: object }>();
    const bearer = bearerToken(request as Parameters<typeof bearerToken>[0]);
    if (bearer?.startsWith(API_KEY_PREFIX) === true) {
      // A service's API key: found by its hash, never a JWT.
      request.user = this.handleRequest(null, (await this.apiKeys.authenticate(bearer)) ?? false);
    } else if (bearer !== null && this.external.claimsExternal(bearer)) {
      // The identity provider's token: its own keys and algorithms, never the service's secret.
      request.user = this.handleRequest(null, (await this.external.authenticate(bearer)) ?? false);
    } else {
      // A token already verified skips passport (a third of a small request's CPU); any other goes through it.
      const known = await this.jwt.fromVerifiedToken(request);
      if (known === undefined) await super.canActivate(context);
      else request.user = this.handleRequest(null, known);
    }
    const user = request.user;
    if (!user.roles.some((role) => roles.includes(role))) {
      throw new Problem(403, 'FORBIDDEN', 'your role may not do this');
    }
    if (scoping === 'unlimited' && user.ledgers !== null) {
      throw new Problem(403, 'FORBIDDEN', 'a caller limited to some ledgers may not do this');
    }
    return true;
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error instanceof Error && !(error instanceof Problem)) throw error;
    if (user === false || user === null || user === undefined) {
      throw new Problem(401, 'UNAUTHENTICATED', 'a valid bearer token or API key is required');
    }
    return user;
  }
}
