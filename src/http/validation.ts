import { ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, ValidationFailed } from './problem.js';

/** Unknown fields are refused, not stripped: a caller's typo must not silently move money differently. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  validateCustomDecorators: false,
  exceptionFactory: (errors) => new ValidationFailed(flatten(errors, '')),
});

function flatten(errors: ValidationError[], prefix: string): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix === '' ? e.property : `${prefix}.${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** `:id` path parameters: a malformed UUID is a 400, not a 404 and never a database error. */
export const uuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new ValidationFailed([{ field: 'id', message: 'id must be a UUID' }]),
});
