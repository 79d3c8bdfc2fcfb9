import { short } from './body-guard.js';

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

const MAX_ERRORS = 20;

/** 400 VALIDATION_FAILED; at most 20 errors are listed, with field names and messages cut short, so that a
 * hostile body cannot make the answer grow with it. */
export class ValidationFailed extends Problem {
  readonly errors: FieldError[];

  constructor(all: FieldError[]) {
    const errors = all
      .slice(0, MAX_ERRORS)
      .map((e) => ({ field: short(e.field, 128), message: short(e.message, 256) }));
    const more = all.length > MAX_ERRORS ? ` (and ${all.length - MAX_ERRORS} more)` : '';
    const summary = errors.slice(0, 3).map((e) => `${e.field}: ${e.message}`);
    super(400, 'VALIDATION_FAILED', `${summary.join('; ') || 'invalid request'}${all.length > 3 ? '; …' : ''}${more}`);
    this.errors = errors;
  }
}

export const serviceUnavailable = (detail: string, retryAfterSeconds = 1): Problem =>
  new Problem(503, 'SERVICE_UNAVAILABLE', detail, { 'retry-after': String(retryAfterSeconds) });
