import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ids = new WeakMap<IncomingMessage, string>();
// Printable ASCII without spaces, bounded, so a caller's id can be echoed into headers and logs safely.
const CALLER_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The request id for a raw request: the caller's `X-Request-Id` when it is sane, else a new UUID.
 * Fastify (error bodies, headers) and pino-http (log lines) both ask, and must get the same answer.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    const header = req.headers['x-request-id'];
    id = typeof header === 'string' && CALLER_ID.test(header) ? header : randomUUID();
    ids.set(req, id);
  }
  return id;
}
