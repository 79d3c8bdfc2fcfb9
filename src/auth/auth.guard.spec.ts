import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Problem } from '../http/problem.js';
import { AuthGuard } from './auth.guard.js';
import type { JwtStrategy } from './jwt.strategy.js';
import type { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import type { ExternalTokens } from './external-tokens.js';
import { Public, Roles, Scoped } from './roles.decorator.js';

class Undeclared {
  handler(): void {}
}
class Declared {
  @Public()
  handler(): void {}
}

class RolesOnly {
  @Roles('admin')
  handler(): void {}
}
class AcrossLedgers {
  @Roles('admin')
  @Scoped('unlimited')
  handler(): void {}
}

const contextFor = (cls: { prototype: { handler: () => void } }): ExecutionContext =>
  ({
    getHandler: () => cls.prototype.handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => ({ headers: {} }) }),
  }) as unknown as ExecutionContext;

describe('AuthGuard', () => {
  // Neither case reaches the token: the strategy is never asked.
  const guard = new AuthGuard(new Reflector(), {} as JwtStrategy, {} as ApiKeysService, {} as ExternalTokens);

  it('refuses a route that declares neither @Roles nor @Public, before looking at any token', async () => {
    await expect(guard.canActivate(contextFor(Undeclared))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await expect(guard.canActivate(contextFor(Undeclared))).rejects.toBeInstanceOf(Problem);
  });

  it('lets a @Public route through without a token', async () => {
    await expect(guard.canActivate(contextFor(Declared))).resolves.toBe(true);
  });
});

describe('AuthGuard: ledger scoping', () => {
  const admin = (ledgers: string[] | null): AuthenticatedUser => ({
    kind: 'user',
    id: 'u',
    ownerId: 'u',
    username: 'a',
    roles: ['admin'],
    ledgers,
  });
  const guardFor = (user: AuthenticatedUser): AuthGuard =>
    new AuthGuard(
      new Reflector(),
      { fromVerifiedToken: () => Promise.resolve(user) } as unknown as JwtStrategy,
      {} as ApiKeysService,
      { claimsExternal: () => false } as unknown as ExternalTokens,
    );

  it('refuses a route that names its roles but not how ledgers limit it, even to an unlimited admin', async () => {
    await expect(guardFor(admin(null)).canActivate(contextFor(RolesOnly))).rejects.toMatchObject({
      status: 403,
      message: 'this route declares no ledger scoping',
    });
  });

  it('refuses an "unlimited" route to a caller limited to some ledgers, and lets an unlimited one through', async () => {
    await expect(guardFor(admin(['l1'])).canActivate(contextFor(AcrossLedgers))).rejects.toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    });
    await expect(guardFor(admin(null)).canActivate(contextFor(AcrossLedgers))).resolves.toBe(true);
  });
});
