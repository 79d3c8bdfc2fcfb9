import { hash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { LedgerScope } from '../core/ledger-scope.js';
import type { WriteRequest } from '../writes/write-request.js';
import { inspectInput } from './body-guard.js';
import { ValidationFailed } from './problem.js';
import { requestIdOf } from './request-id.js';

const KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The write request of a route: who asks, and under which Idempotency-Key. `{ keyed: false }` for the routes
 * that take no key (PATCH, SPEC section 2 keys only creating POSTs): a key sent there is ignored, as before.
 */
export const Write = createParamDecorator(
  (options: { keyed: boolean } | undefined, context: ExecutionContext): WriteRequest => {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthenticatedUser }>();
    const header = options?.keyed === false ? undefined : request.headers['idempotency-key'];
    if (header !== undefined && (typeof header !== 'string' || !KEY.test(header))) {
      throw new ValidationFailed([{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
    }
    if (request.user === undefined) throw new Error('a write route must be authenticated');
    return {
      userId: request.user.ownerId,
      actor: { type: request.user.kind, id: request.user.id, name: request.user.username },
      scope: LedgerScope.of(request.user.ledgers),
      key: header,
      requestHash: header === undefined ? '' : requestHash(request),
      requestId: requestIdOf(request.raw),
    };
  },
);

function requestHash(request: FastifyRequest): string {
  // Bounded before hashing: JSON.stringify of thousands of nested levels would overflow the stack.
  const problem = inspectInput(request.body, 'body');
  if (problem !== undefined) throw new ValidationFailed([problem]);
  const path = request.url.split('?')[0] ?? request.url;
  return hash('sha256', `${request.method} ${path}\n${JSON.stringify(request.body ?? null)}`, 'hex');
}

/** Documents the Idempotency-Key header of a creating POST (SPEC section 2). */
export const ApiIdempotencyKey = (): MethodDecorator =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      '1-255 printable ASCII characters, scoped to the caller, kept at least 24 h: the same key with the same request replays the first response (Idempotent-Replayed: true); with another request it is 422 IDEMPOTENCY_KEY_REUSED',
  });
