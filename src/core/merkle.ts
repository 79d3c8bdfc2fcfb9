import { hash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 section 2.1 over a ledger's journal (SPEC 14). Tree sizes and indexes are plain
 * integers: a journal will not reach 2^53 entries, and halving uses division, never 32-bit bit operators.
 */

/** MTH({}): SHA-256 of nothing. */
export const EMPTY_ROOT = hash('sha256', Buffer.alloc(0), 'buffer');

// One-shot hashes (`crypto.hash`): about half the time of a Hash object for inputs this small, and the tree
// builder hashes every entry of the journal.
const LEAF = Buffer.of(0);
const NODE = Buffer.of(1);

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function leafHash(data: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([LEAF, data]), 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([NODE, left, right]), 'buffer');
}

/** A complete subtree: the 2^level leaves from index × 2^level. Level 0 is a leaf. */
export interface NodeId {
  level: number;
  index: number;
}

/** Leaves [start, end): a subtree of the RFC's recursion, whose hash is MTH(D[start:end]). */
export interface Span {
  start: number;
  end: number;
}

const half = (n: number): number => Math.floor(n / 2);
const odd = (n: number): boolean => n % 2 === 1;

/** The largest power of two smaller than n (n > 1): where MTH splits D[n]. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that make up leaves [start, end), left to right and largest first, for a span whose start
 * is a multiple of a power of two above its length (every span of the RFC's recursion is). MTH of the span is
 * their right fold: H(first, H(second, … last)).
 */
export function spanNodes(span: Span): NodeId[] {
  const nodes: NodeId[] = [];
  let start = span.start;
  let length = span.end - span.start;
  while (length > 0) {
    let size = 1;
    let level = 0;
    while (size * 2 <= length) {
      size *= 2;
      level += 1;
    }
    nodes.push({ level, index: start / size });
    start += size;
    length -= size;
  }
  return nodes;
}

/** MTH of a span from the hashes of its spanNodes, in their order. */
export function foldSpan(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc: Buffer = Buffer.from(hashes[hashes.length - 1]!);
  for (let i = hashes.length - 2; i >= 0; i -= 1) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** The spans whose hashes form PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, from the leaf upwards. */
export function inclusionSpans(index: number, size: number): Span[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const topDown: Span[] = [];
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
      m -= k;
    }
  }
  return topDown.reverse();
}

/** The spans whose hashes form PROOF(from, D[0:to]) of RFC 9162 section 2.1.4.1, in the proof's order. */
export function consistencySpans(from: number, to: number): Span[] {
  if (!(from >= 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  if (from === 0 || from === to) return [];
  const topDown: Span[] = [];
  let start = 0;
  let end = to;
  let m = from;
  let whole = true; // SUBPROOF's b: the old tree is a complete subtree seen so far, so its hash need not be sent
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) topDown.push({ start, end });
  return topDown.reverse();
}

/**
 * The walk both verifications of RFC 9162 (2.1.3.2, 2.1.4.2) share: up from node fn of a level whose last node is
 * sn, each path hash is a sibling on the left (when fn is a right child, or the last node with no right sibling, in
 * which case the walk also skips the levels where it has none) or on the right. Returns where sn ends, 0 when the
 * path reached the root, or undefined when it ran past it.
 */
function climb(
  fn: number,
  sn: number,
  path: readonly Uint8Array[],
  sibling: (hash: Uint8Array, onLeft: boolean) => void,
): number | undefined {
  for (const p of path) {
    if (sn === 0) return undefined;
    if (odd(fn) || fn === sn) {
      sibling(p, true);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sibling(p, false);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn;
}

/** The root that an inclusion path leads to (RFC 9162 section 2.1.3.2), or undefined when the path cannot fit. */
export function rootFromInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
): Buffer | undefined {
  if (!(index >= 0 && index < size) || leaf.length !== 32 || path.some((p) => p.length !== 32)) return undefined;
  let r: Buffer = Buffer.from(leaf);
  const end = climb(index, size - 1, path, (p, onLeft) => (r = onLeft ? nodeHash(p, r) : nodeHash(r, p)));
  return end === 0 ? r : undefined;
}

export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusion(index, size, leaf, path);
  return computed !== undefined && computed.equals(root);
}

/**
 * RFC 9162 section 2.1.4.2, with the cases its algorithm leaves to the caller: equal sizes need an empty path and
 * equal roots; the empty tree is a prefix of every tree; a tree never shrinks.
 */
export function verifyConsistency(
  from: number,
  to: number,
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  path: readonly Uint8Array[],
): boolean {
  if (!(from >= 0 && from <= to)) return false;
  if (from === to) return path.length === 0 && Buffer.from(fromRoot).equals(toRoot);
  if (from === 0) return path.length === 0;
  if (path.length === 0 || path.some((p) => p.length !== 32)) return false;
  const hashes = isPowerOfTwo(from) ? [fromRoot, ...path] : [...path];
  let fn = from - 1;
  let sn = to - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // fr climbs the old tree, sr the new one: a sibling on the right is in the new tree only.
  let fr: Buffer = Buffer.from(hashes[0]!);
  let sr: Buffer = Buffer.from(hashes[0]!);
  const end = climb(fn, sn, hashes.slice(1), (c, onLeft) => {
    if (onLeft) fr = nodeHash(c, fr);
    sr = onLeft ? nodeHash(c, sr) : nodeHash(sr, c);
  });
  return end === 0 && fr.equals(fromRoot) && sr.equals(toRoot);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/**
 * The right edge of a growing tree (a compact range from 0): the roots of the complete subtrees that make up
 * its leaves, largest first. Appending a leaf is O(log n) and hands back the complete subtrees it finished, for
 * storage; the root at any moment is their fold.
 */
export class RightEdge {
  private constructor(
    private leaves: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): RightEdge {
    return new RightEdge(0, []);
  }

  /** Resumes from a stored edge: its size and the hashes of spanNodes({0, size}), in that order. */
  static resume(size: number, hashes: readonly Uint8Array[]): RightEdge {
    if (spanNodes({ start: 0, end: size }).length !== hashes.length) {
      throw new RangeError(`a tree of ${size} has ${spanNodes({ start: 0, end: size }).length} edge hashes`);
    }
    return new RightEdge(
      size,
      hashes.map((h) => Buffer.from(h)),
    );
  }

  get size(): number {
    return this.leaves;
  }

  get edge(): readonly Buffer[] {
    return this.hashes;
  }

  root(): Buffer {
    return foldSpan(this.hashes);
  }

  /** Adds a leaf (its leaf hash); returns every complete subtree above level 0 that it completed. */
  append(leaf: Uint8Array): Array<NodeId & { hash: Buffer }> {
    const made: Array<NodeId & { hash: Buffer }> = [];
    let hash: Buffer = Buffer.from(leaf);
    let index = this.leaves;
    let level = 0;
    // A trailing 1 bit in the old size is a complete subtree of that level waiting for a right sibling.
    for (let n = this.leaves; odd(n); n = half(n)) {
      hash = nodeHash(this.hashes.pop()!, hash);
      index = half(index);
      level += 1;
      made.push({ level, index, hash });
    }
    this.hashes.push(hash);
    this.leaves += 1;
    return made;
  }
}

/**
 * Tiles (as C2SP tlog-tiles lays a tree out): the tree is stored as rows of up to TILE_WIDTH hashes, tile level T
 * holding the hashes of tree level T × TILE_HEIGHT, tile k the ones from index k × TILE_WIDTH. Any complete subtree
 * up to TILE_HEIGHT - 1 levels above a tile's level is hashed from one tile, so a proof reads O(log n / 8) rows,
 * and the tree takes one row per 256 leaves instead of two per leaf.
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

/** Where a complete subtree's hash comes from: `count` hashes of tile (tileLevel, tileIndex) from `offset`. */
export interface TileSpot {
  tileLevel: number;
  tileIndex: number;
  offset: number;
  count: number;
}

export function tileSpot(node: NodeId): TileSpot {
  const tileLevel = Math.floor(node.level / TILE_HEIGHT);
  const count = 2 ** (node.level - tileLevel * TILE_HEIGHT);
  const first = node.index * count;
  const tileIndex = Math.floor(first / TILE_WIDTH);
  return { tileLevel, tileIndex, offset: first - tileIndex * TILE_WIDTH, count };
}

/** The root of a complete subtree from its 2^h bottom hashes, in order. */
export function perfectRoot(hashes: readonly Uint8Array[]): Buffer {
  let level: Buffer[] = hashes.map((h) => Buffer.from(h));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}
