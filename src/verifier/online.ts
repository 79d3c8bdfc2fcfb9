import { randomInt } from 'node:crypto';
import { entryHash, GENESIS_HASH } from '../core/hash-chain.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../core/merkle.js';
import { formatVkey, type NoteKey, parseVkey } from '../core/signed-note.js';
import {
  type Checkpoint,
  nameOf,
  type OpenedCheckpoint,
  openCheckpoint,
  parseCheckpointJson,
  refOf,
} from './checkpoint.js';
import { type JournalEntry, parseEntry } from './entry.js';
import { fail, type Problem, type Verdict } from './problem.js';

export interface OnlineOptions {
  /** The service's base URL, e.g. http://host:3000. */
  url: string;
  token: string;
  /** A checkpoint kept from an earlier visit: the service's history must have grown from it. */
  kept: Checkpoint;
  /** Trusted verifier keys; none means trusting whatever keys the service names, with a warning. */
  keys: readonly NoteKey[];
  /** How many random entries to prove included in the latest tree (all of them when at least its size). */
  sample: number;
  /** Per request. */
  timeoutMs?: number;
  warn?: (message: string) => void;
}

export interface OnlineSummary {
  ledgerId: string;
  origin: string;
  kept: { treeSize: number; rootHash: string };
  latest: { treeSize: number; rootHash: string };
  sampled: number;
  keys: string[];
  /** True when no key was given and the service's own keys were used. */
  serverKeysTrusted: boolean;
}

type Answer = { ok: true; body: unknown } | { ok: false; problem: Problem };

const HEX32 = /^[0-9a-f]{64}$/;
// Enough requests in flight to hide latency, few enough not to look like a flood to the service's rate limits.
const PARALLEL = 8;

export async function verifyOnline(options: OnlineOptions): Promise<Verdict<OnlineSummary>> {
  const { kept } = options;
  const ledgerId = kept.ledgerId;
  const get = client(options);

  let keys = options.keys;
  if (keys.length === 0) {
    const answer = await get('/v1/audit/checkpoints/keys', {});
    if (!answer.ok) return answer;
    const served = serverKeys(answer.body);
    if (typeof served === 'string') return fail({ kind: 'SERVER', detail: served });
    keys = served;
    options.warn?.(
      `warning: no --key given, so trusting the key(s) the service names: ${served.map(formatVkey).join(', ')}. ` +
        'A service that rewrote its history could sign it with a key of its own; pass the key you trust with --key.',
    );
  }

  const old = openCheckpoint(kept, keys);
  if ('kind' in old) return fail(old);

  const answer = await get('/v1/audit/checkpoints/latest', { ledgerId });
  if (!answer.ok) return answer;
  const parsed = parseCheckpointJson(answer.body, 'the latest checkpoint');
  if (typeof parsed === 'string') return fail({ kind: 'SERVER', detail: `the latest checkpoint: ${parsed}` });
  if (parsed.ledgerId !== ledgerId) {
    return fail({
      kind: 'SERVER',
      detail: `asked for ledger ${ledgerId}'s latest checkpoint, got ledger ${parsed.ledgerId}'s`,
    });
  }
  const latest = openCheckpoint(parsed, keys);
  if ('kind' in latest) return fail(latest);
  if (latest.origin !== old.origin) {
    return fail({
      kind: 'CHECKPOINT_CONFLICT',
      detail: `${nameOf(latest)}: origin ${JSON.stringify(latest.origin)} differs from the kept checkpoint's ${JSON.stringify(old.origin)}`,
      checkpoint: refOf(latest),
    });
  }

  const consistent = await checkConsistency(get, old, latest);
  if (consistent !== undefined) return fail(consistent);

  const indexes = sampleIndexes(latest.treeSize, options.sample);
  const heads = new Map<string, { version: number; hash: string }>();
  let lastSeq: bigint | undefined;
  for (let b = 0; b < indexes.length; b += PARALLEL) {
    const batch = indexes.slice(b, b + PARALLEL);
    const answers = await Promise.all(
      batch.map((leafIndex) => get('/v1/audit/proofs/inclusion', { ledgerId, leafIndex, treeSize: latest.treeSize })),
    );
    for (let i = 0; i < batch.length; i += 1) {
      const a = answers[i]!;
      if (!a.ok) return a;
      const leafIndex = batch[i]!;
      const proved = checkInclusion(a.body, leafIndex, latest);
      if ('kind' in proved) return fail(proved);
      const { entry, seq } = proved;
      // Leaves are in seq order, and where two sampled entries are successive versions of an account, the later
      // one must carry the earlier one's hash: the proofs then show pieces of chains, not just lone entries.
      if (lastSeq !== undefined && seq <= lastSeq) {
        return fail({
          kind: 'SEQ_ORDER',
          detail: `${describe(entry)} is leaf ${leafIndex}, after an entry of a later seq`,
          ...at(entry),
        });
      }
      lastSeq = seq;
      const head = heads.get(entry.accountId);
      if (head !== undefined && entry.accountVersion <= head.version) {
        return fail({
          kind: 'VERSION_GAP',
          detail: `${describe(entry)} comes after version ${head.version} of its account`,
          ...at(entry),
        });
      }
      const carried =
        entry.accountVersion === 1
          ? GENESIS_HASH
          : head?.version === entry.accountVersion - 1
            ? head.hash
            : entry.prevHash;
      if (entry.prevHash !== carried) {
        return fail({
          kind: 'HASH_MISMATCH',
          detail: `${describe(entry)}: prevHash ${entry.prevHash} is not the hash of the version before, ${carried}`,
          ...at(entry),
        });
      }
      heads.set(entry.accountId, { version: entry.accountVersion, hash: entry.hash });
    }
  }

  return {
    ok: true,
    summary: {
      ledgerId,
      origin: latest.origin,
      kept: { treeSize: old.treeSize, rootHash: old.rootHash },
      latest: { treeSize: latest.treeSize, rootHash: latest.rootHash },
      sampled: indexes.length,
      keys: keys.map(formatVkey),
      serverKeysTrusted: options.keys.length === 0,
    },
  };
}

async function checkConsistency(
  get: ReturnType<typeof client>,
  old: OpenedCheckpoint,
  latest: OpenedCheckpoint,
): Promise<Problem | undefined> {
  const inconsistent: Problem = {
    kind: 'INCONSISTENT',
    detail: `checkpoint of size ${old.treeSize} is not consistent with the latest (size ${latest.treeSize})`,
    ledgerId: old.ledgerId,
    checkpoint: refOf(old),
  };
  if (latest.treeSize < old.treeSize) {
    return { ...inconsistent, detail: `${inconsistent.detail}: the tree shrank` };
  }
  // Equal sizes need no proof: a consistent history has one root per size.
  if (latest.treeSize === old.treeSize) return old.root.equals(latest.root) ? undefined : inconsistent;
  const answer = await get('/v1/audit/proofs/consistency', {
    ledgerId: old.ledgerId,
    from: old.treeSize,
    to: latest.treeSize,
  });
  if (!answer.ok) return answer.problem;
  const path = hashesOf(answer.body);
  if (path === undefined) return { kind: 'SERVER', detail: 'the consistency proof has no path of 32-byte hex hashes' };
  return verifyConsistency(old.treeSize, latest.treeSize, old.root, latest.root, path) ? undefined : inconsistent;
}

function checkInclusion(
  body: unknown,
  leafIndex: number,
  latest: OpenedCheckpoint,
): { entry: JournalEntry; seq: bigint } | Problem {
  const where = `the inclusion proof of leaf ${leafIndex} of ${latest.treeSize}`;
  if (typeof body !== 'object' || body === null) return { kind: 'SERVER', detail: `${where} is not a JSON object` };
  const proof = body as Record<string, unknown>;
  if (proof.leafIndex !== leafIndex || proof.treeSize !== latest.treeSize) {
    return {
      kind: 'SERVER',
      detail: `${where} answers for leaf ${String(proof.leafIndex)} of ${String(proof.treeSize)}`,
    };
  }
  const path = hashesOf(proof);
  if (path === undefined || typeof proof.leafHash !== 'string' || !HEX32.test(proof.leafHash)) {
    return { kind: 'SERVER', detail: `${where} has no leafHash and path of 32-byte hex hashes` };
  }
  const parsed = parseEntry(proof.entry);
  if (typeof parsed === 'string') return { kind: 'MALFORMED_ENTRY', detail: `${where}: its entry's ${parsed}` };
  const { entry } = parsed;
  if (entry.ledgerId !== latest.ledgerId) {
    return { kind: 'NOT_INCLUDED', detail: `${describe(entry)} is in ledger ${entry.ledgerId}`, ...at(entry) };
  }
  const recomputed = entryHash(entry.prevHash, parsed.fields);
  if (recomputed !== entry.hash) {
    return {
      kind: 'HASH_MISMATCH',
      detail: `${describe(entry)}: hash ${entry.hash} differs from the recomputed ${recomputed}`,
      ...at(entry),
    };
  }
  const leaf = leafHash(Buffer.from(entry.hash, 'hex'));
  if (
    leaf.toString('hex') !== proof.leafHash ||
    !verifyInclusion(leafIndex, latest.treeSize, leaf, path, latest.root)
  ) {
    return {
      kind: 'NOT_INCLUDED',
      detail: `${describe(entry)} is not in the tree (as leaf ${leafIndex} of ${nameOf(latest)})`,
      ...at(entry),
      checkpoint: refOf(latest),
    };
  }
  return { entry, seq: parsed.seq };
}

const describe = (e: JournalEntry): string =>
  `entry ${e.id} (seq ${e.seq}, account ${e.accountId} version ${e.accountVersion})`;

const at = (e: JournalEntry): Pick<Problem, 'accountId' | 'accountVersion' | 'seq'> => ({
  accountId: e.accountId,
  accountVersion: e.accountVersion,
  seq: e.seq,
});

function hashesOf(body: unknown): Buffer[] | undefined {
  if (typeof body !== 'object' || body === null || !('path' in body) || !Array.isArray(body.path)) return undefined;
  const path = body.path as unknown[];
  if (!path.every((h) => typeof h === 'string' && HEX32.test(h))) return undefined;
  return path.map((h) => Buffer.from(h as string, 'hex'));
}

function serverKeys(body: unknown): NoteKey[] | string {
  const list = typeof body === 'object' && body !== null && 'keys' in body ? body.keys : undefined;
  if (!Array.isArray(list) || list.length === 0) return 'the service names no checkpoint key';
  const keys: NoteKey[] = [];
  for (const k of list as unknown[]) {
    const vkey = typeof k === 'object' && k !== null && 'vkey' in k ? k.vkey : undefined;
    const key = typeof vkey === 'string' ? parseVkey(vkey) : undefined;
    if (key === undefined) return `the service names a malformed verifier key: ${JSON.stringify(vkey)}`;
    keys.push(key);
  }
  return keys;
}

/**
 * `count` distinct leaf indexes below `size`, ascending (Floyd's sampling: exactly `count` draws). The draws come
 * from the CSPRNG so that the service cannot guess which entries will be asked for.
 */
export function sampleIndexes(size: number, count: number): number[] {
  if (count >= size) return Array.from({ length: size }, (_, i) => i);
  const chosen = new Set<number>();
  for (let j = size - count; j < size; j += 1) {
    const t = randomInt(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

function client(options: OnlineOptions): (path: string, query: Record<string, string | number>) => Promise<Answer> {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (path, query) => {
    const search = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    const shown = search === '' ? path : `${path}?${search}`;
    const failed = (why: string): Answer => ({
      ok: false,
      problem: { kind: 'SERVER', detail: `GET ${shown}: ${why}` },
    });
    let response: Response;
    try {
      response = await fetch(`${base}${shown}`, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect could carry the token elsewhere; the URL given is the one to talk to.
        redirect: 'error',
      });
    } catch (e) {
      return failed(networkReason(e, timeoutMs));
    }
    let body: unknown;
    try {
      body = JSON.parse(await response.text());
    } catch (e) {
      return failed(response.ok ? `the answer is not JSON (${networkReason(e, timeoutMs)})` : `${response.status}`);
    }
    if (!response.ok) {
      const p = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const code = typeof p.code === 'string' ? ` ${p.code}` : '';
      const said = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : '';
      return failed(`${response.status}${code}${said === '' ? '' : `: ${said}`}`);
    }
    return { ok: true, body };
  };
}

function networkReason(e: unknown, timeoutMs: number): string {
  // Duck-typed: errors from Node's own fetch need not be instances of this realm's Error (under a test runner).
  const err = typeof e === 'object' && e !== null ? (e as { name?: unknown; message?: unknown; cause?: unknown }) : {};
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause =
    typeof err.cause === 'object' && err.cause !== null ? (err.cause as { code?: unknown; message?: unknown }) : {};
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (typeof cause.code === 'string') return `${message} (${cause.code})`;
  return typeof cause.message === 'string' ? `${message} (${cause.message})` : message;
}
