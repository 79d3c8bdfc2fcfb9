/**
 * The write could not be carried out and nothing was written: serialization retries ran out, or the connection
 * failed while committing and the outcome is unknown. The caller may retry (with the same Idempotency-Key); the
 * HTTP edge answers 503 with `Retry-After`.
 */
export class Unavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'Unavailable';
  }
}
