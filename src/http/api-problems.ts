import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

class FieldErrorDoc {
  @ApiProperty() field: string;
  @ApiProperty() message: string;
}

/** The application/problem+json body of every error (SPEC section 3). */
export class ProblemDoc {
  @ApiProperty({ example: 'about:blank' }) type: string;
  @ApiProperty({ example: 'Insufficient funds' }) title: string;
  @ApiProperty({ example: 422 }) status: number;
  @ApiProperty({ example: 'INSUFFICIENT_FUNDS' }) code: string;
  @ApiProperty() detail: string;
  @ApiProperty() requestId: string;
  @ApiPropertyOptional({ type: [FieldErrorDoc] }) errors?: FieldErrorDoc[];
  @ApiPropertyOptional({ description: 'position of the refused transfer in a batch' }) index?: number;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED or MALFORMED_JSON',
  401: 'UNAUTHENTICATED (or INVALID_CREDENTIALS at /v1/auth/token)',
  403: 'FORBIDDEN: the role may not do this',
  404: 'NOT_FOUND',
  409: 'a conflict with the current state (see the code)',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'the ledger refuses a well-formed request (see the code)',
  429: 'RATE_LIMITED (with Retry-After)',
  503: 'SERVICE_UNAVAILABLE (with Retry-After): nothing was written',
};

/** Documents a route's error responses as problem+json. */
export const ApiProblems = (...statuses: number[]): MethodDecorator =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDoc' } } },
      }),
    ),
  );
