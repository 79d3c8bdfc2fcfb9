import { createHash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { inspectInput } from '../http/body-guard.js';
import { ValidationFailed } from '../http/problem.js';
import { requestIdOf } from '../http/request-id.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';

/** What the idempotent write path needs to know about a creating request. */
export interface WriteRequest {
  userId: string;
  key: string | undefined;
  /** Of method, path and body; only computed (and only compared) when there is a key. */
  requestHash: string;
  requestId: string;
}

const KEY = /^[\x20-\x7e]{1,255}$/;

export const Write = createParamDecorator((_: unknown, context: ExecutionContext): WriteRequest => {
  const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthenticatedUser }>();
  const header = request.headers['idempotency-key'];
  if (header !== undefined && (typeof header !== 'string' || !KEY.test(header))) {
    throw new ValidationFailed([{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
  }
  if (request.user === undefined) throw new Error('a write route must be authenticated');
  return {
    userId: request.user.id,
    key: header,
    requestHash: header === undefined ? '' : requestHash(request),
    requestId: requestIdOf(request.raw),
  };
});

function requestHash(request: FastifyRequest): string {
  // Bounded before hashing: JSON.stringify of thousands of nested levels would overflow the stack.
  const problem = inspectInput(request.body, 'body');
  if (problem !== undefined) throw new ValidationFailed([problem]);
  const path = request.url.split('?')[0] ?? request.url;
  return createHash('sha256')
    .update(`${request.method} ${path}\n${JSON.stringify(request.body ?? null)}`)
    .digest('hex');
}

/** Documents the Idempotency-Key header of a creating POST (SPEC section 2). */
export const ApiIdempotencyKey = (): MethodDecorator =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      '1-255 printable ASCII characters, scoped to the caller, kept at least 24 h: the same key with the same request replays the first response (Idempotent-Replayed: true); with another request it is 422 IDEMPOTENCY_KEY_REUSED',
  });
