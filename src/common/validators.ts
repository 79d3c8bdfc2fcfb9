import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsOptional,
  IsString,
  Matches,
  registerDecorator,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { INT64_MAX, isAmountString, isSignedMoneyString } from '../core/money.js';

export const CURRENCY_PATTERN = /^[A-Z][A-Z0-9_]{2,15}$/;
export const EXTERNAL_ID_PATTERN = /^[\x20-\x7e]{1,128}$/;

/** A money amount: a decimal string of 1 … 2^63−1 minor units, no sign, exponent, leading zero or space. */
export function IsAmount(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isAmount',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: `${String(propertyName)} must be a string of 1 to 9223372036854775807 minor units`,
        ...options,
      },
      validator: { validate: (value: unknown) => isAmountString(value) },
    });
}

/** A balance (a bound of a condition): a signed decimal string of minor units within PostgreSQL `bigint`. */
export function IsSignedMoney(): PropertyDecorator {
  return ValidateBy({
    name: 'isSignedMoney',
    validator: {
      validate: (value: unknown) => isSignedMoneyString(value),
      defaultMessage: (args) =>
        `${args?.property} must be a string of minor units, -9223372036854775808 to 9223372036854775807`,
    },
  });
}

export const IsCurrency = (): PropertyDecorator =>
  applyDecorators(IsString(), Matches(CURRENCY_PATTERN, { message: 'currency must match ^[A-Z][A-Z0-9_]{2,15}$' }));

export const IsExternalId = (): PropertyDecorator =>
  applyDecorators(
    IsString(),
    Matches(EXTERNAL_ID_PATTERN, { message: 'externalId must be 1-128 printable ASCII characters' }),
  );

/** Flat string → string, at most 32 keys of 1–64 characters, values up to 512 characters. */
export function IsMetadata(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isMetadata',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: 'metadata must be a flat object of at most 32 string keys (1-64 chars) to string values (≤512 chars)',
      },
      validator: { validate: isMetadata },
    });
}

function isMetadata(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= 32 &&
    entries.every(([k, v]) => k.length >= 1 && k.length <= 64 && typeof v === 'string' && v.length <= 512)
  );
}

// RFC 3339: a calendar date and a time with an offset; no week dates, ordinal dates or bare dates.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const isTimestamp = (value: unknown): value is string =>
  typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));

/** An instant as RFC 3339 (`2026-11-21T08:15:58.123Z`), that JavaScript and PostgreSQL read alike. */
export function IsTimestamp(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isTimestamp',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must be an RFC 3339 timestamp such as 2026-11-21T08:15:58.123Z` },
      validator: { validate: isTimestamp },
    });
}

/**
 * An instant at most now (SPEC 12: a movement is never dated in the future). Dates in the books count in whole
 * milliseconds, so finer digits are cut off rather than rounded up past now.
 */
export function IsPastTimestamp(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isPastTimestamp',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: `${String(propertyName)} must be an RFC 3339 timestamp such as 2026-11-21T08:15:58.123Z, and not in the future`,
      },
      validator: { validate: (v: unknown) => isTimestamp(v) && Date.parse(v) <= Date.now() },
    });
}

/** A journal position: a decimal seq within the bigint range. */
export const isSeq = (value: unknown): value is string =>
  typeof value === 'string' && /^(0|[1-9][0-9]{0,18})$/.test(value) && BigInt(value) <= INT64_MAX;

export function IsSeq(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isSeq',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must be the seq of an entry` },
      validator: { validate: isSeq },
    });
}

/** A ledger's name (SPEC 9); never shaped like a UUID, so that one reference can hold either. */
export const LEDGER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUuidShaped = (s: string): boolean => UUID_SHAPE.test(s);
export const isLedgerRef = (s: string): boolean => isUuidShaped(s) || LEDGER_NAME_PATTERN.test(s);

/** A ledger named by its id (a UUID) or its name (SPEC 9). */
export function IsLedgerRef(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLedgerRef',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isLedgerRef(value),
        defaultMessage: () => 'must be a ledger id (UUID) or name',
      },
    },
    options,
  );
}

/**
 * The ledgers a user or API key is limited to (SPEC 9): optional, null for every ledger, else 1-100 ids or names;
 * validated and documented in one place.
 */
export const IsLedgerLimit = (description: string): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ type: [String], nullable: true, minItems: 1, maxItems: 100, description }),
    IsOptional(),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(100),
    ArrayUnique(),
    IsLedgerRef({ each: true }),
  );
