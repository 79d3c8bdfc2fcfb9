import { type ArgumentMetadata, ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { inspectInput } from './body-guard.js';
import { type FieldError, ValidationFailed } from './problem.js';
import { cacheValidationMetadata } from './validation-metadata.js';

/**
 * The global validation: unknown fields are refused, not stripped (a caller's typo must not silently move
 * money differently). Runs after the guard, so an unauthenticated caller learns nothing about validation.
 * Before class-transformer walks a body or query string, `inspectInput` bounds it (depth, size, prototype
 * keys, NUL characters), and a body must be a JSON object.
 */
class LedgerValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      if (
        metadata.type === 'body' &&
        value !== undefined &&
        (typeof value !== 'object' || value === null || Array.isArray(value))
      ) {
        throw new ValidationFailed([{ field: 'body', message: 'the body must be a JSON object' }]);
      }
      const problem = inspectInput(value, metadata.type);
      if (problem !== undefined) throw new ValidationFailed([problem]);
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

cacheValidationMetadata();

export const validationPipe = new LedgerValidationPipe({
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

/**
 * For a query string or body a route does not take: nothing, or an empty object, passes; any field is
 * unknown and refused, as the validation pipe refuses unknown fields of the routes that take some.
 */
export const noFields = {
  transform(value: unknown): undefined {
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ValidationFailed([{ field: 'body', message: 'the body must be a JSON object' }]);
    }
    const fields =
      typeof value === 'object' && value !== null ? Object.keys(value) : value === undefined ? [] : ['body'];
    if (fields.length > 0) {
      throw new ValidationFailed(fields.map((field) => ({ field, message: `${field} is not an accepted field` })));
    }
    return undefined;
  },
};
