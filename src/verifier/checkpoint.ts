import { readFile } from 'node:fs/promises';
import { EMPTY_ROOT } from '../core/merkle.js';
import { openNote, parseCheckpoint, type NoteKey } from '../core/signed-note.js';
import { type CheckpointRef, type Problem } from './problem.js';

/** A checkpoint as the API shows it (SPEC 14); only what the verifier relies on, plus where it was read from. */
export interface Checkpoint {
  ledgerId: string;
  treeSize: number;
  rootHash: string;
  note: string;
  source: string;
}

/** A checkpoint whose note verified with a trusted key and says what its JSON says. */
export interface OpenedCheckpoint extends Checkpoint {
  origin: string;
  root: Buffer;
}

const HEX32 = /^[0-9a-f]{64}$/;

export const refOf = (c: Checkpoint): CheckpointRef => ({
  ledgerId: c.ledgerId,
  treeSize: c.treeSize,
  source: c.source,
});

export const nameOf = (c: Checkpoint): string => `checkpoint ${c.ledgerId} size ${c.treeSize}`;

/** The checkpoint, or what is wrong with its JSON. Fields other than the four relied on are ignored. */
export function parseCheckpointJson(value: unknown, source: string): Checkpoint | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { ledgerId, treeSize, rootHash, note } = value as Record<string, unknown>;
  if (typeof ledgerId !== 'string' || ledgerId === '') return 'ledgerId is missing or empty';
  if (typeof treeSize !== 'number' || !Number.isSafeInteger(treeSize) || treeSize < 0) {
    return 'treeSize is not a non-negative integer';
  }
  if (typeof rootHash !== 'string' || !HEX32.test(rootHash)) return 'rootHash is not 64 lowercase hex digits';
  if (typeof note !== 'string') return 'note is missing';
  return { ledgerId, treeSize, rootHash, note, source };
}

/**
 * The checkpoints in a file's text: one checkpoint object, a list answer `{ data: [...] }`, a JSON array, or
 * NDJSON of checkpoint objects (what saving the API's answers by hand or with a script tends to produce).
 */
export function checkpointsOf(text: string, file: string): Checkpoint[] | Problem {
  const malformed = (detail: string): Problem => ({ kind: 'MALFORMED_CHECKPOINT', detail: `${file}: ${detail}` });
  let items: Array<{ value: unknown; source: string }>;
  const whole = tryJson(text);
  if (whole.ok) {
    const v = whole.value;
    const list = Array.isArray(v)
      ? (v as unknown[])
      : typeof v === 'object' && v !== null && 'data' in v && Array.isArray(v.data)
        ? (v.data as unknown[])
        : undefined;
    items =
      list === undefined
        ? [{ value: v, source: file }]
        : list.map((value, i) => ({ value, source: `${file}#${i + 1}` }));
  } else {
    items = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      const parsed = tryJson(line);
      if (!parsed.ok) return malformed(`line ${i + 1} is not JSON (${parsed.error})`);
      items.push({ value: parsed.value, source: `${file}:${i + 1}` });
    }
  }
  // An empty list is what the list route answers before the first checkpoint; a blank file is a mistake.
  if (items.length === 0 && !whole.ok) return malformed('holds no checkpoint');
  const checkpoints: Checkpoint[] = [];
  for (const { value, source } of items) {
    const c = parseCheckpointJson(value, source);
    if (typeof c === 'string') return { kind: 'MALFORMED_CHECKPOINT', detail: `${source}: ${c}` };
    checkpoints.push(c);
  }
  return checkpoints;
}

/** Reads a checkpoint file; a file that cannot be read throws (the caller's usage error), a malformed one is a Problem. */
export async function readCheckpointFile(path: string): Promise<Checkpoint[] | Problem> {
  return checkpointsOf(await readFile(path, 'utf8'), path);
}

/** Checks the note's signature with the trusted keys, then that the signed size and root are the JSON's. */
export function openCheckpoint(c: Checkpoint, keys: readonly NoteKey[]): OpenedCheckpoint | Problem {
  const checkpoint = refOf(c);
  const opened = openNote(c.note, keys);
  if (opened === undefined) {
    return { kind: 'SIGNATURE', detail: `${nameOf(c)}: signature does not verify with the given key(s)`, checkpoint };
  }
  const body = parseCheckpoint(opened.text);
  if (body === undefined) {
    return { kind: 'MALFORMED_CHECKPOINT', detail: `${nameOf(c)}: the signed note is not a checkpoint`, checkpoint };
  }
  const root = body.root.toString('hex');
  if (body.size !== c.treeSize || root !== c.rootHash) {
    return {
      kind: 'CHECKPOINT_MISMATCH',
      detail: `${nameOf(c)}: its signed note says size ${body.size}, root ${root}, but its JSON size ${c.treeSize}, root ${c.rootHash}`,
      checkpoint,
    };
  }
  if (body.size === 0 && !body.root.equals(EMPTY_ROOT)) {
    return { kind: 'TREE_MISMATCH', detail: `${nameOf(c)}: an empty tree's root is SHA-256 of nothing`, checkpoint };
  }
  return { ...c, origin: body.origin, root: body.root };
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
