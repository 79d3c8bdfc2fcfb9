/**
 * An HTTP refusal that is not a ledger rule: authentication, rate limits, an unreachable database.
 * Ledger refusals are the typed errors of `src/core/errors.ts`; both are turned into problem+json by
 * `ProblemFilter`, the only place that knows statuses.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'Problem';
  }
}

export interface FieldError {
  field: string;
  message: string;
}

export class ValidationFailed extends Problem {
  constructor(readonly errors: FieldError[]) {
    super(400, 'VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'invalid request');
  }
}

export const serviceUnavailable = (detail: string, retryAfterSeconds = 1): Problem =>
  new Problem(503, 'SERVICE_UNAVAILABLE', detail, { 'retry-after': String(retryAfterSeconds) });
