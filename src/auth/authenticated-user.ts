import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { LedgerScope } from '../core/ledger-scope.js';
import type { Role } from './roles.decorator.js';

/** The caller, as the database knows it (not as a token claims): a user, or a service's API key. */
export interface AuthenticatedUser {
  kind: 'user' | 'apiKey' | 'external';
  /** The user's or the key's id; `<iss>#<sub>` for a token of the identity provider. */
  id: string;
  /** The user's name, or the key's; the provider's `preferred_username` or `sub`. */
  username: string;
  /** The UUID whose Idempotency-Keys the caller's are: its id, or one derived from an outside identity. */
  ownerId: string;
  roles: Role[];
  /** The ids of the ledgers the caller is limited to (SPEC 9); null: every ledger. */
  ledgers: string[] | null;
}

export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);

/**
 * The caller's ledgers, for a route declared `@Scoped('ledgers')`: every read and write of ledger data takes it,
 * and sees nothing outside it.
 */
export const Scope = createParamDecorator((_: unknown, context: ExecutionContext): LedgerScope =>
  LedgerScope.of(context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user.ledgers),
);
