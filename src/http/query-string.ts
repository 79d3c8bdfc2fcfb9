import { parse } from 'node:querystring';
import { ApiQuery } from '@nestjs/swagger';

const METADATA_PAIR = /^metadata\[(.+)\]$/;

/**
 * The query string as the routes' DTOs read it: `metadata[key]=value` pairs (SPEC 11's metadata filters) are
 * gathered into one `metadata` object, which the DTO then validates as it validates a body's metadata (a
 * repeated key arrives as an array, and is refused there). Members are defined, never assigned, so a key such as
 * `__proto__` stays an ordinary key, for the input guard to refuse.
 */
export function parseQueryString(text: string): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parse(text))) {
    const pair = METADATA_PAIR.exec(key);
    if (pair === null) {
      define(query, key, value);
      continue;
    }
    if (!Object.hasOwn(query, 'metadata')) define(query, 'metadata', {});
    const metadata = query.metadata;
    // `metadata=x` beside `metadata[k]=y`: left as it is, for validation to refuse.
    if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
      define(metadata as Record<string, unknown>, pair[1]!, value);
    }
  }
  return query;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Documents a list route's `metadata[key]=value` filter (SPEC 11) as the deep object the parser above gathers. */
export const ApiMetadataFilter = (what: string): MethodDecorator =>
  ApiQuery({
    name: 'metadata',
    required: false,
    style: 'deepObject',
    explode: true,
    schema: { type: 'object', additionalProperties: { type: 'string' } },
    description: `\`metadata[key]=value\`, any number: only the ${what} whose metadata holds every pair (from an index)`,
  });
