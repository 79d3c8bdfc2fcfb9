/**
 * Bounds the bytes of request bodies the service holds at once. A body costs several times its size while it is
 * parsed, validated, written and answered, and the heap is capped (README, Operations): without a bound, a
 * burst of large batches (128 clients sending 870 KB each) exhausted it and the process died. A request whose
 * body does not fit is refused with 503 and Retry-After before its body is read, and nothing else is affected.
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly capacity: number) {}

  /** Reserves `bytes`; false when they do not fit beside the bodies in flight. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }

  get inUse(): number {
    return this.used;
  }
}

/**
 * What a request's body may take: its declared length, or the body limit when it declares none (chunked) or
 * more (Fastify refuses it with 413 once it passes the limit). Requests that carry no body take nothing.
 */
export function bodyBytes(headers: Record<string, string | string[] | undefined>, limit: number): number {
  const length = headers['content-length'];
  if (typeof length === 'string' && /^\d+$/.test(length)) return Math.min(Number(length), limit);
  return headers['transfer-encoding'] === undefined ? 0 : limit;
}
