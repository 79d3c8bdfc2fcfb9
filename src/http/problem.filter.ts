import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError, type LedgerErrorCode } from '../core/errors.js';
import { Unavailable } from '../writes/unavailable.js';
import { Problem, ValidationFailed } from './problem.js';
import { requestIdOf } from './request-id.js';

/** The one place where errors become statuses and stable codes (SPEC section 3). */
const LEDGER_STATUS: Record<LedgerErrorCode, number> = {
  NOT_FOUND: 404,
  DUPLICATE_EXTERNAL_ID: 409,
  USERNAME_TAKEN: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  TRANSFER_NOT_PENDING: 409,
  TRANSFER_EXPIRED: 409,
  ACCOUNT_BALANCE_NOT_ZERO: 409,
  ACCOUNT_CLOSED: 409,
  DUPLICATE_LEDGER_NAME: 409,
  ACCOUNT_VERSION_CONFLICT: 409,
  ALREADY_REVERSED: 409,
  ACCOUNT_NOT_FOUND: 422,
  CURRENCY_MISMATCH: 422,
  SAME_ACCOUNT: 422,
  ACCOUNT_NOT_ACTIVE: 422,
  INSUFFICIENT_FUNDS: 422,
  BALANCE_OVERFLOW: 422,
  AMOUNT_EXCEEDS_PENDING: 422,
  REVERSAL_EXCEEDS_AMOUNT: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  LEDGER_NOT_FOUND: 422,
  LEDGER_MISMATCH: 422,
  UNBALANCED_TRANSACTION: 422,
  BALANCE_CONDITION_FAILED: 422,
  INVALID_TREE_SIZE: 422,
  CATEGORY_CYCLE: 422,
  INVALID_PERIOD: 422,
  PERIOD_CLOSED: 422,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

// SQLSTATE classes and driver errors that mean "the database is not there right now": the caller may retry.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|40001|40P01|55P03|57014|25P03)/;
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

export interface ProblemBody {
  type: 'about:blank';
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  errors?: { field: string; message: string }[];
  index?: number;
}

interface Resolved {
  status: number;
  code: string;
  detail: string;
  headers?: Record<string, string>;
  errors?: { field: string; message: string }[];
  index?: number;
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const requestId = requestIdOf(request.raw);
    const resolved = resolve(exception);
    if (resolved.status >= 500) {
      this.logger.error({ err: exception, requestId, code: resolved.code }, 'request failed');
    }
    void reply
      .status(resolved.status)
      .headers({ ...resolved.headers, 'x-request-id': requestId, 'content-type': 'application/problem+json' })
      .send(JSON.stringify(toBody(resolved, requestId)));
  }
}

/** The problem+json body for an error, as the filter would answer it (a write's refusal is answered with it). */
export function problemBody(exception: unknown, requestId: string): ProblemBody {
  return toBody(resolve(exception), requestId);
}

function toBody(resolved: Resolved, requestId: string): ProblemBody {
  return {
    type: 'about:blank',
    title: titleOf(resolved.code),
    status: resolved.status,
    code: resolved.code,
    detail: resolved.detail,
    requestId,
    ...(resolved.errors ? { errors: resolved.errors } : {}),
    ...(resolved.index !== undefined ? { index: resolved.index } : {}),
  };
}

function resolve(exception: unknown): Resolved {
  if (exception instanceof ValidationFailed) {
    return { status: 400, code: exception.code, detail: exception.message, errors: exception.errors };
  }
  if (exception instanceof Problem) {
    return { status: exception.status, code: exception.code, detail: exception.message, headers: exception.headers };
  }
  if (exception instanceof Unavailable) {
    return {
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      detail: exception.message,
      headers: { 'retry-after': String(exception.retryAfterSeconds) },
    };
  }
  if (exception instanceof LedgerError) {
    return {
      status: LEDGER_STATUS[exception.code],
      code: exception.code,
      detail: exception.message,
      index: exception.index,
    };
  }
  if (exception instanceof HttpException) {
    // Nest wraps the errors Fastify raises while reading a body; their own code says more than the status.
    const fromFastify = fastifyClientError(exception.cause);
    if (fromFastify !== undefined) return fromFastify;
    const status = exception.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED');
    const detail = status === 404 ? 'no such route or resource' : status >= 500 ? 'internal error' : exception.message;
    const headers = status === 429 ? { 'retry-after': '60' } : undefined;
    return { status: status === 405 ? 404 : status, code, detail, headers };
  }
  const fastifyStatus = fastifyClientError(exception);
  if (fastifyStatus !== undefined) return fastifyStatus;
  if (isDatabaseUnavailable(exception)) {
    return {
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      detail: 'the database is unavailable; retry later',
      headers: { 'retry-after': '1' },
    };
  }
  return { status: 500, code: 'INTERNAL_ERROR', detail: 'internal error' };
}

/** Errors Fastify raises while reading the body, before any route handler runs. */
function fastifyClientError(e: unknown): Resolved | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { statusCode, code } = e as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'the body must be application/json' };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'the body is larger than 1 MiB' };
  }
  if (statusCode === 400 && (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY')) {
    return { status: 400, code: 'MALFORMED_JSON', detail: 'the body is not valid JSON' };
  }
  if (
    code === 'FST_ERR_BAD_URL' ||
    code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ||
    code === 'FST_ERR_CTP_INVALID_TYPE'
  ) {
    return { status: 400, code: 'VALIDATION_FAILED', detail: 'malformed request' };
  }
  const mapped = CODE_BY_STATUS[statusCode];
  return mapped === undefined ? undefined : { status: statusCode, code: mapped, detail: 'request refused' };
}

export function isDatabaseUnavailable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  const driverError = (e as { driverError?: unknown }).driverError;
  if (driverError !== undefined && driverError !== e && isDatabaseUnavailable(driverError)) return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i.test(
      message,
    )
  );
}

function titleOf(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((w, i) => (i === 0 ? w[0]?.toUpperCase() + w.slice(1) : w))
    .join(' ');
}
