import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IntersectionType } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ValidationFailed } from '../http/problem.js';
import { isSeq, isTimestamp, IsTimestamp } from './validators.js';

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  // Plain decimal digits only: Number() would also read "1e2", "0x10" or " 10".
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

/** `from` (inclusive) and `to` (exclusive) instants, ISO 8601. */
export class TimeRangeQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'at or after (inclusive)' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'before (exclusive)' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class RangePageQuery extends IntersectionType(PageQuery, TimeRangeQuery) {}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to callers: base64url JSON of the last row's sort key. */
export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY_PARTS = { seq: isSeq, time: isTimestamp, uuid: (v: unknown) => typeof v === 'string' && UUID.test(v) };

/** Decodes a cursor whose key has the given shape; anything else (forged, from another list) is a 400. */
export function decodeCursor(cursor: string | undefined, shape: (keyof typeof KEY_PARTS)[]): string[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === shape.length && shape.every((part, i) => KEY_PARTS[part](key[i]))) {
      return key as string[];
    }
  } catch {
    // fall through to the refusal below
  }
  throw new ValidationFailed([{ field: 'cursor', message: 'cursor is not one this service issued' }]);
}

/** Fetch `limit + 1` rows; the extra one only says whether there is a next page. */
export function toPage<R, T>(rows: R[], limit: number, view: (row: R) => T, key: (row: R) => string[]): Page<T> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
