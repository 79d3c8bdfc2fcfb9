import type { PoolClient } from 'pg';
import { foldSpan, type NodeId, perfectRoot, type Span, spanNodes, TILE_WIDTH, tileSpot } from '../core/merkle.js';

/** Any way to run a query: a pooled client, the data source, a write's transaction. */
export type Query = <R extends object>(text: string, values?: unknown[]) => Promise<R[]>;

export const queryOf =
  (client: PoolClient): Query =>
  async <R extends object>(text: string, values?: unknown[]) =>
    (await client.query<R>(text, values)).rows;

export interface TreeRow {
  ledger_id: string;
  size: string;
  last_seq: string | null;
  root: Buffer;
  edge: Buffer;
}

/** A ledger's tree as stored; a ledger with no leaf yet has no row. */
export async function treeOf(query: Query, ledgerId: string): Promise<TreeRow | undefined> {
  const [row] = await query<TreeRow>(
    `SELECT ledger_id, size, last_seq, root, edge FROM merkle_trees WHERE ledger_id = $1`,
    [ledgerId],
  );
  return row;
}

/** The 32-byte hashes stored one after another in a tile or an edge. */
export function hashesIn(bytes: Buffer): Buffer[] {
  const hashes: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 32) hashes.push(bytes.subarray(i, i + 32));
  return hashes;
}

export const nodeKey = (n: NodeId): string => `${n.level}/${n.index}`;

/**
 * The hashes of some complete subtrees of a ledger's tree, from the tiles that hold them, in one statement. A proof
 * needs O(log² n) subtrees at worst (the right edge's incomplete ones are folded from complete ones), and they lie
 * in a handful of tiles. A subtree whose tile does not (yet) hold it is absent from the answer.
 */
export async function storedHashes(
  query: Query,
  ledgerId: string,
  ids: readonly NodeId[],
): Promise<Map<string, Buffer>> {
  const spots = ids.map((n) => ({ n, at: tileSpot(n) }));
  const tiles = [...new Map(spots.map(({ at }) => [`${at.tileLevel}/${at.tileIndex}`, at])).values()];
  const rows = await query<{ level: number; idx: string; hashes: Buffer }>(
    `SELECT t.level, t.idx, t.hashes FROM unnest($2::smallint[], $3::bigint[]) AS w(level, idx)
     JOIN merkle_tiles t ON t.ledger_id = $1 AND t.level = w.level AND t.idx = w.idx`,
    [ledgerId, tiles.map((t) => t.tileLevel), tiles.map((t) => String(t.tileIndex))],
  );
  const found = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hashes]));
  const hashes = new Map<string, Buffer>();
  for (const { n, at } of spots) {
    const tile = found.get(`${at.tileLevel}/${at.tileIndex}`);
    if (tile === undefined || tile.length < (at.offset + at.count) * 32) continue;
    hashes.set(nodeKey(n), perfectRoot(hashesIn(tile.subarray(at.offset * 32, (at.offset + at.count) * 32))));
  }
  return hashes;
}

/** MTH of each span, from the stored complete subtrees that make it up. */
export async function spanHashes(query: Query, ledgerId: string, spans: readonly Span[]): Promise<Buffer[]> {
  const parts = spans.map((s) => spanNodes(s));
  const stored = await storedHashes(query, ledgerId, parts.flat());
  return parts.map((nodes) =>
    foldSpan(
      nodes.map((n) => {
        const hash = stored.get(nodeKey(n));
        // Every subtree below the stored size is in the tiles written with the leaves that made it.
        if (hash === undefined) throw new Error(`the tree of ledger ${ledgerId} lacks node ${nodeKey(n)}`);
        return hash;
      }),
    ),
  );
}

export interface StoredLeaf {
  index: number;
  seq: string;
  hash: Buffer;
}

const seqAt = (seqs: Buffer, i: number): string => seqs.readBigUInt64BE(i * 8).toString();

/** The leaf of an entry of a ledger, by the entry's seq; undefined when the tree has not taken it in (yet). */
export async function leafOfSeq(query: Query, ledgerId: string, seq: string): Promise<StoredLeaf | undefined> {
  const [tile] = await query<{ idx: string; seqs: Buffer; hashes: Buffer }>(
    `SELECT idx, seqs, hashes FROM merkle_tiles WHERE ledger_id = $1 AND level = 0 AND first_seq <= $2
     ORDER BY first_seq DESC LIMIT 1`,
    [ledgerId, seq],
  );
  if (tile === undefined) return undefined;
  for (let i = 0; i < tile.seqs.length / 8; i += 1) {
    if (seqAt(tile.seqs, i) === seq) {
      return { index: Number(tile.idx) * TILE_WIDTH + i, seq, hash: tile.hashes.subarray(i * 32, i * 32 + 32) };
    }
  }
  return undefined;
}

/** The leaf at an index of a ledger's tree, or undefined beyond it. */
export async function leafAt(query: Query, ledgerId: string, index: number): Promise<StoredLeaf | undefined> {
  const [tile] = await query<{ seqs: Buffer; hashes: Buffer }>(
    `SELECT seqs, hashes FROM merkle_tiles WHERE ledger_id = $1 AND level = 0 AND idx = $2`,
    [ledgerId, Math.floor(index / TILE_WIDTH)],
  );
  const i = index % TILE_WIDTH;
  if (tile === undefined || tile.seqs.length <= i * 8) return undefined;
  return { index, seq: seqAt(tile.seqs, i), hash: tile.hashes.subarray(i * 32, i * 32 + 32) };
}
