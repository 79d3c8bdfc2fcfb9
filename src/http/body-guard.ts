import type { FieldError } from './problem.js';

const MAX_DEPTH = 32;
const MAX_ARRAY = 1000;
// class-transformer silently drops keys named like Object.prototype members ("constructor", "toString"…), so
// they would slip past the whitelist; they are refused here instead.
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** A value met while walking an input, with how to name it: its parent and key, made into a path only when refused. */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string;
  depth: number;
}

function pathOf(v: Visit): string {
  const keys: string[] = [];
  for (let at: Visit | undefined = v; at !== undefined; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

/**
 * Limits a parsed body or query string before validation ever walks it: nesting depth (class-transformer
 * recurses once per level), array length, prototype-named keys, and NUL characters, which PostgreSQL cannot
 * store in text. Returns the first problem, or undefined. Iterative, so hostile input cannot exhaust the stack;
 * a field's path is written only for the one refused, as every body is walked twice (validation, request hash).
 */
export function inspectInput(root: unknown, name: 'body' | 'query'): FieldError | undefined {
  const stack: Visit[] = [{ value: root, parent: undefined, key: name, depth: 0 }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { value, depth } = visit;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { field: pathOf(visit), message: 'must not contain NUL characters' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DEPTH) return { field: pathOf(visit), message: `nesting deeper than ${MAX_DEPTH} levels` };
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY) return { field: pathOf(visit), message: `arrays hold at most ${MAX_ARRAY} items` };
      value.forEach((item, i) => stack.push({ value: item, parent: visit, key: String(i), depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const child: Visit = { value: item, parent: visit, key: short(key), depth: depth + 1 };
      if (PROTOTYPE_KEYS.has(key)) return { field: pathOf(child), message: 'is not an accepted field' };
      if (key.includes('\u0000'))
        return { field: pathOf(child), message: 'field names must not contain NUL characters' };
      stack.push(child);
    }
  }
  return undefined;
}

export function short(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
