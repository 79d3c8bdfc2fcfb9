import type { FieldError } from './problem.js';

const MAX_DEPTH = 32;
const MAX_ARRAY = 1000;
// class-transformer silently drops keys named like Object.prototype members ("constructor", "toString"…), so
// they would slip past the whitelist; they are refused here instead.
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * Limits a parsed body or query string before validation ever walks it: nesting depth (class-transformer
 * recurses once per level), array length, prototype-named keys, and NUL characters, which PostgreSQL cannot
 * store in text. Returns the first problem, or undefined. Iterative, so hostile input cannot exhaust the stack.
 */
export function inspectInput(root: unknown, name: 'body' | 'query'): FieldError | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: name, depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { field: path, message: 'must not contain NUL characters' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DEPTH) return { field: path, message: `nesting deeper than ${MAX_DEPTH} levels` };
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY) return { field: path, message: `arrays hold at most ${MAX_ARRAY} items` };
      value.forEach((item, i) => stack.push({ value: item, path: `${path}.${i}`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const field = `${path}.${short(key)}`;
      if (PROTOTYPE_KEYS.has(key)) return { field, message: 'is not an accepted field' };
      if (key.includes('\u0000')) return { field, message: 'field names must not contain NUL characters' };
      stack.push({ value: item, path: field, depth: depth + 1 });
    }
  }
  return undefined;
}

export function short(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
