import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Problem } from '../http/problem.js';
import { AuthGuard } from './auth.guard.js';
import type { JwtStrategy } from './jwt.strategy.js';
import { Public } from './roles.decorator.js';

class Undeclared {
  handler(): void {}
}
class Declared {
  @Public()
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
  const guard = new AuthGuard(new Reflector(), {} as JwtStrategy);

  it('refuses a route that declares neither @Roles nor @Public, before looking at any token', async () => {
    await expect(guard.canActivate(contextFor(Undeclared))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await expect(guard.canActivate(contextFor(Undeclared))).rejects.toBeInstanceOf(Problem);
  });

  it('lets a @Public route through without a token', async () => {
    await expect(guard.canActivate(contextFor(Declared))).resolves.toBe(true);
  });
});
