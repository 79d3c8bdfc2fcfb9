import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from './roles.decorator.js';

/** The caller, as the JWT strategy found them in the database (not as the token claims). */
export interface AuthenticatedUser {
  id: string;
  username: string;
  roles: Role[];
}

export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);
