import type { PoolClient } from 'pg';
import type { VerifyProblem } from '../audit/audit.dto.js';
import { foldSpan, perfectRoot, spanNodes, TILE_WIDTH } from '../core/merkle.js';
import { openNote, parseCheckpoint, parseVkey } from '../core/signed-note.js';
import { inScope } from '../ledgers/ledger-rows.js';
import type { CheckpointSigner } from './checkpoint-signer.js';
import { hashesIn, nodeKey, queryOf, storedHashes } from './tree-store.js';

const MAX_PROBLEMS = 100;

/** A problem and its place among its own subject's (an account, or a ledger's tree): 1 for the first. */
export interface RankedProblem {
  rank: number;
  problem: VerifyProblem;
}

/**
 * TREE_MISMATCH (SPEC 14): the stored trees against the journal, and the signed checkpoints against the trees.
 * 1. Every entry the trees have taken in is a leaf, in seq order, whose hash is SHA-256(0x00 ‖ the entry's hash),
 *    and every leaf has its entry: an entry edited after the fact (its chain recomputed or not), removed, or
 *    inserted is named by account and version, or by seq.
 * 2. Every full tile's root is what the tile above holds for it: a tree edited to match an edited journal shows.
 * 3. Each tree's head, and each checkpoint's root, is the root the stored subtrees give at its size, and each
 *    checkpoint's signature verifies: a tree rebuilt over an edited journal no longer matches what was signed.
 * A history rewritten whole (journal, tree, and checkpoints re-signed by someone holding the key) passes all three;
 * only a checkpoint kept outside the database shows it (`ledger-verify`).
 */
export async function treeProblems(
  c: PoolClient,
  ledgers: readonly string[] | null,
  signer: CheckpointSigner,
): Promise<RankedProblem[]> {
  return [
    ...(await leafProblems(c, ledgers)),
    ...(await tileProblems(c, ledgers)),
    ...(await headProblems(c, ledgers, signer)),
  ];
}

async function leafProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<RankedProblem[]> {
  const { rows } = await c.query<{
    ledger_id: string;
    seq: string;
    account_id: string | null;
    version: string | null;
    leaf_index: string | null;
    detail: string;
    rank: string;
  }>(
    `WITH e AS (
       SELECT ledger_id, seq, account_id, account_version, hash FROM ledger_entries
       WHERE ${inScope('ledger_id', 1)} AND seq <= (SELECT last_seq FROM merkle_progress)
     ), leaves AS (
       -- Level-0 tiles hold 256 leaves each: the leaf hash and its entry's seq (8 bytes big-endian) side by side.
       SELECT t.ledger_id, t.idx * 256 + o.n AS leaf_index,
              ('x' || encode(substring(t.seqs FROM o.n * 8 + 1 FOR 8), 'hex'))::bit(64)::bigint AS seq,
              substring(t.hashes FROM o.n * 32 + 1 FOR 32) AS hash
       FROM merkle_tiles t CROSS JOIN LATERAL generate_series(0, length(t.hashes) / 32 - 1) AS o(n)
       WHERE t.level = 0 AND ${inScope('t.ledger_id', 1)}
     ), l AS (
       SELECT *, row_number() OVER (PARTITION BY ledger_id ORDER BY seq) - 1 AS expected_index FROM leaves
     ), bad AS (
       SELECT coalesce(e.ledger_id, l.ledger_id) AS ledger_id, coalesce(e.seq, l.seq) AS seq, e.account_id,
              e.account_version, l.leaf_index,
              CASE
                WHEN l.seq IS NULL THEN 'the entry is not a leaf of its ledger''s tree'
                WHEN e.seq IS NULL THEN format('leaf %s stands for an entry that is not in the journal', l.leaf_index)
                WHEN l.ledger_id <> e.ledger_id THEN format('leaf %s is in another ledger''s tree', l.leaf_index)
                -- An entry's hash edited into something that is not hex is a mismatch, not a failed verify.
                WHEN l.hash IS DISTINCT FROM CASE WHEN e.hash ~ '^[0-9a-f]{64}$'
                  THEN sha256('\\x00'::bytea || decode(e.hash, 'hex')) END
                  THEN format('leaf %s was made from another hash than the entry has now', l.leaf_index)
                WHEN l.leaf_index <> l.expected_index
                  THEN format('leaf %s is out of seq order (expected index %s)', l.leaf_index, l.expected_index)
              END AS detail
       FROM e FULL JOIN l ON l.seq = e.seq
     )
     SELECT ledger_id, seq, account_id, account_version AS version, leaf_index, detail,
            row_number() OVER (PARTITION BY coalesce(account_id, ledger_id) ORDER BY seq) AS rank
     FROM bad WHERE detail IS NOT NULL
     ORDER BY rank, coalesce(account_id, ledger_id), seq LIMIT ${MAX_PROBLEMS}`,
    [ledgers],
  );
  return rows.map((r) => ({
    rank: Number(r.rank),
    problem: {
      code: 'TREE_MISMATCH',
      ledgerId: r.ledger_id,
      ...(r.account_id === null ? {} : { accountId: r.account_id, accountVersion: Number(r.version) }),
      seq: r.seq,
      detail: r.detail,
    },
  }));
}

/** Every full tile's root is the hash the tile above holds for it: a tile edited to match an edited journal shows. */
async function tileProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<RankedProblem[]> {
  const upper = new Map(
    (
      await c.query<{ ledger_id: string; level: number; idx: string; hashes: Buffer }>(
        `SELECT ledger_id, level, idx, hashes FROM merkle_tiles WHERE level > 0 AND ${inScope('ledger_id', 1)}`,
        [ledgers],
      )
    ).rows.map((t) => [`${t.ledger_id}/${t.level}/${t.idx}`, t.hashes]),
  );
  const found: RankedProblem[] = [];
  const rank = new Map<string, number>();
  // The full tiles a page at a time, in key order: a million leaves are 3,900 tiles and 32 MB of hashes.
  let after: [string, number, string] = ['00000000-0000-0000-0000-000000000000', -1, '-1'];
  for (;;) {
    const { rows } = await c.query<{ ledger_id: string; level: number; idx: string; hashes: Buffer }>(
      `SELECT ledger_id, level, idx, hashes FROM merkle_tiles
       WHERE ${inScope('ledger_id', 1)} AND length(hashes) = 8192 AND (ledger_id, level, idx) > ($2::uuid, $3, $4::bigint)
       ORDER BY ledger_id, level, idx LIMIT 500`,
      [ledgers, ...after],
    );
    for (const t of rows) {
      const idx = Number(t.idx);
      const parent = upper.get(`${t.ledger_id}/${t.level + 1}/${Math.floor(idx / TILE_WIDTH)}`);
      const at = (idx % TILE_WIDTH) * 32;
      if (parent === undefined || parent.length < at + 32) continue; // the tile above is not built yet: nothing to compare
      if (!perfectRoot(hashesIn(t.hashes)).equals(parent.subarray(at, at + 32))) {
        const r = (rank.get(t.ledger_id) ?? 0) + 1;
        rank.set(t.ledger_id, r);
        found.push({
          rank: r,
          problem: {
            code: 'TREE_MISMATCH',
            ledgerId: t.ledger_id,
            detail: `tile ${t.level}/${idx} is not what the tile above it holds`,
          },
        });
      }
    }
    if (rows.length < 500) return found;
    const last = rows[rows.length - 1]!;
    after = [last.ledger_id, last.level, last.idx];
  }
}

interface Head {
  ledger_id: string;
  size: string;
  root: Buffer;
  edge: Buffer;
  leaves: string;
}

interface Signed {
  id: string;
  ledger_id: string;
  tree_size: string;
  root_hash: Buffer;
  note: string;
  key_id: string;
  vkey: string;
}

async function headProblems(
  c: PoolClient,
  ledgers: readonly string[] | null,
  signer: CheckpointSigner,
): Promise<RankedProblem[]> {
  const query = queryOf(c);
  const heads = await query<Head>(
    `SELECT t.ledger_id, t.size, t.root, t.edge,
            (SELECT coalesce(sum(length(hashes) / 32), 0) FROM merkle_tiles l WHERE l.ledger_id = t.ledger_id AND l.level = 0)
              AS leaves
     FROM merkle_trees t WHERE ${inScope('t.ledger_id', 1)} ORDER BY t.ledger_id`,
    [ledgers],
  );
  const checkpoints = await query<Signed>(
    `SELECT id, ledger_id, tree_size, root_hash, note, key_id, vkey FROM checkpoints
     WHERE ${inScope('ledger_id', 1)} ORDER BY ledger_id, seq`,
    [ledgers],
  );
  const found: RankedProblem[] = [];
  const rank = new Map<string, number>();
  const add = (ledgerId: string, detail: string, checkpointId?: string): void => {
    const r = (rank.get(ledgerId) ?? 0) + 1;
    rank.set(ledgerId, r);
    found.push({
      rank: r,
      problem: { code: 'TREE_MISMATCH', ledgerId, ...(checkpointId === undefined ? {} : { checkpointId }), detail },
    });
  };
  const sizes = new Map(heads.map((h) => [h.ledger_id, Number(h.size)]));
  // The root at a size, from the subtrees stored: one read per ledger for every size asked.
  const rootsAt = async (ledgerId: string, wanted: number[]): Promise<Map<number, Buffer>> => {
    const spans = wanted.map((size) => spanNodes({ start: 0, end: size }));
    const stored = await storedHashes(query, ledgerId, spans.flat());
    const roots = new Map<number, Buffer>();
    wanted.forEach((size, i) => {
      const hashes = spans[i]!.map((n) => stored.get(nodeKey(n)));
      if (hashes.every((h) => h !== undefined)) roots.set(size, foldSpan(hashes));
    });
    return roots;
  };
  for (const head of heads) {
    const size = Number(head.size);
    if (Number(head.leaves) !== size) add(head.ledger_id, `the tree has size ${size} but ${head.leaves} leaves`);
    const nodes = spanNodes({ start: 0, end: size });
    const stored = await storedHashes(query, head.ledger_id, nodes);
    const edge = nodes.map((n) => stored.get(nodeKey(n)) ?? Buffer.alloc(0));
    if (!Buffer.concat(edge).equals(head.edge)) {
      add(head.ledger_id, `the tree's right edge at size ${size} is not made of its stored subtrees`);
    } else if (!foldSpan(edge).equals(head.root)) {
      add(head.ledger_id, `the tree's root at size ${size} is not the fold of its right edge`);
    }
  }
  const byLedger = new Map<string, Signed[]>();
  for (const cp of checkpoints) byLedger.set(cp.ledger_id, [...(byLedger.get(cp.ledger_id) ?? []), cp]);
  for (const [ledgerId, list] of byLedger) {
    const roots = await rootsAt(
      ledgerId,
      [...new Set(list.map((cp) => Number(cp.tree_size)))].filter((s) => s <= (sizes.get(ledgerId) ?? 0)),
    );
    for (const cp of list) {
      const size = Number(cp.tree_size);
      const key = cp.key_id === signer.keyId ? signer.key : parseVkey(cp.vkey);
      const opened = key === undefined ? undefined : openNote(cp.note, [key]);
      const body = opened === undefined ? undefined : parseCheckpoint(opened.text);
      if (body === undefined) {
        add(ledgerId, `checkpoint ${cp.id} (size ${size}): its signature does not verify`, cp.id);
      } else if (body.size !== size || !body.root.equals(cp.root_hash)) {
        add(ledgerId, `checkpoint ${cp.id} (size ${size}): the signed note says size ${body.size}`, cp.id);
      } else if (size > (sizes.get(ledgerId) ?? 0)) {
        add(ledgerId, `checkpoint ${cp.id} (size ${size}) is larger than the tree`, cp.id);
      } else if (!(roots.get(size) ?? Buffer.alloc(0)).equals(cp.root_hash)) {
        add(
          ledgerId,
          `checkpoint ${cp.id} (size ${size}): the tree's root at that size differs from the signed one`,
          cp.id,
        );
      }
    }
  }
  return found;
}
