import { foldSpan, type NodeId, type Span, spanNodes } from '../core/merkle.js';

/** Any way to run a query: a pooled client, the data source, a write's transaction. */
export type Query = <R extends object>(text: string, values?: unknown[]) => Promise<R[]>;

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

const key = (level: number, index: number): string => `${level}/${index}`;

/**
 * The stored hashes of some complete subtrees of a ledger's tree, in one statement: leaves from `merkle_leaves`,
 * the others from `merkle_nodes`, each by its primary key. A proof needs O(log² n) of them at worst (the right
 * edge's incomplete subtrees are folded from complete ones), a few hundred at a billion leaves.
 */
export async function storedHashes(
  query: Query,
  ledgerId: string,
  ids: readonly NodeId[],
): Promise<Map<string, Buffer>> {
  const leaves = ids.filter((n) => n.level === 0).map((n) => String(n.index));
  const inner = ids.filter((n) => n.level > 0);
  const rows = await query<{ level: number; idx: string; hash: Buffer }>(
    `SELECT 0 AS level, leaf_index AS idx, hash FROM merkle_leaves
       WHERE ledger_id = $1 AND leaf_index = ANY($2::bigint[])
     UNION ALL
     SELECT n.level, n.idx, n.hash FROM unnest($3::smallint[], $4::bigint[]) AS w(level, idx)
       JOIN merkle_nodes n ON n.ledger_id = $1 AND n.level = w.level AND n.idx = w.idx`,
    [ledgerId, leaves, inner.map((n) => n.level), inner.map((n) => String(n.index))],
  );
  return new Map(rows.map((r) => [key(r.level, Number(r.idx)), r.hash]));
}

/** MTH of each span, from the stored complete subtrees that make it up. */
export async function spanHashes(query: Query, ledgerId: string, spans: readonly Span[]): Promise<Buffer[]> {
  const parts = spans.map((s) => spanNodes(s));
  const stored = await storedHashes(query, ledgerId, parts.flat());
  return parts.map((nodes) =>
    foldSpan(
      nodes.map((n) => {
        const hash = stored.get(key(n.level, n.index));
        // Every subtree below the stored size was written with the leaf that completed it.
        if (hash === undefined) throw new Error(`tree of ledger ${ledgerId} lacks node ${key(n.level, n.index)}`);
        return hash;
      }),
    ),
  );
}

/** Splits a stored right edge (the hashes concatenated) into its hashes. */
export function edgeHashes(edge: Buffer): Buffer[] {
  const hashes: Buffer[] = [];
  for (let i = 0; i < edge.length; i += 32) hashes.push(edge.subarray(i, i + 32));
  return hashes;
}
