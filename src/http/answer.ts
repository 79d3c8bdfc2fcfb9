import type { FastifyReply } from 'fastify';
import type { Outcome } from '../writes/idempotency.js';
import { problemBody } from './problem.filter.js';

/**
 * Answers a write's outcome on `reply` and returns the body: the result with the route's own status, or the
 * refusal as problem+json through the one mapping (`problemBody`), under the id of the request that was
 * refused. A replay says so in `Idempotent-Replayed`. `status` replaces the route's own for a result (a dry run's 200).
 * A fresh keyed result goes out as the JSON text stored under its key.
 */
export function answer(reply: FastifyReply, outcome: Outcome, status?: number): unknown {
  if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
  if (!('refusal' in outcome)) {
    if (status !== undefined) void reply.status(status);
    if (outcome.json === undefined) return outcome.value;
    // Rendered once already, to be stored under its key: sent as it was stored, not rendered again.
    void reply.header('content-type', 'application/json; charset=utf-8');
    return outcome.json;
  }
  const body = problemBody(outcome.refusal, outcome.requestId);
  void reply.status(body.status).header('content-type', 'application/problem+json');
  return body;
}
