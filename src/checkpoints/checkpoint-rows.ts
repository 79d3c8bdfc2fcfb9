import { randomUUID } from 'node:crypto';
import { EMPTY_ROOT } from '../core/merkle.js';
import type { CheckpointSigner } from './checkpoint-signer.js';
import type { CheckpointView } from './checkpoints.dto.js';
import type { Query } from './tree-store.js';

export interface CheckpointRow {
  id: string;
  seq: string;
  ledger_id: string;
  tree_size: string;
  root_hash: Buffer;
  last_seq: string | null;
  note: string;
  key_name: string;
  key_id: string;
  created_at: Date;
}

export const CHECKPOINT_COLUMNS =
  'id, seq, ledger_id, tree_size, root_hash, last_seq, note, key_name, key_id, created_at';

export function checkpointView(row: CheckpointRow): CheckpointView {
  return {
    id: row.id,
    ledgerId: row.ledger_id,
    treeSize: Number(row.tree_size),
    rootHash: row.root_hash.toString('hex'),
    lastSeq: row.last_seq,
    createdAt: row.created_at.toISOString(),
    note: row.note,
    keyName: row.key_name,
    keyId: row.key_id,
  };
}

// The trees to sign: every ledger named, as its tree stands (the empty tree for a ledger with no entry yet).
const NAMED_TREES = `SELECT l.id AS ledger_id, l.name, coalesce(t.size, 0) AS size, t.root, t.last_seq
  FROM ledgers l LEFT JOIN merkle_trees t ON t.ledger_id = l.id WHERE l.id = ANY($1::uuid[]) ORDER BY l.id`;
// Or every tree that grew since its ledger's latest checkpoint.
const GROWN_TREES = `SELECT t.ledger_id, l.name, t.size, t.root, t.last_seq
  FROM merkle_trees t JOIN ledgers l ON l.id = t.ledger_id
  LEFT JOIN LATERAL (SELECT tree_size FROM checkpoints c WHERE c.ledger_id = t.ledger_id ORDER BY seq DESC LIMIT 1) c
    ON true
  WHERE c.tree_size IS NULL OR t.size > c.tree_size ORDER BY t.ledger_id`;

/**
 * Signs and stores a checkpoint of each tree: of the ledgers named, or (null) of each one that grew. The caller
 * holds the `merkle_progress` row lock, so no tree moves meanwhile and checkpoints of a ledger only grow.
 */
export async function signTrees(
  query: Query,
  signer: CheckpointSigner,
  ledgerIds: string[] | null,
): Promise<CheckpointRow[]> {
  const trees = await query<{
    ledger_id: string;
    name: string;
    size: string;
    root: Buffer | null;
    last_seq: string | null;
  }>(ledgerIds === null ? GROWN_TREES : NAMED_TREES, ledgerIds === null ? [] : [ledgerIds]);
  if (trees.length === 0) return [];
  const notes = trees.map((t) => signer.sign(t.name, Number(t.size), t.root ?? EMPTY_ROOT));
  return query<CheckpointRow>(
    `INSERT INTO checkpoints (id, ledger_id, tree_size, root_hash, last_seq, note, key_name, key_id, vkey)
     SELECT id, ledger_id, tree_size, root_hash, last_seq, note, $7, $8, $9
     FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bytea[], $5::bigint[], $6::text[])
       AS c(id, ledger_id, tree_size, root_hash, last_seq, note)
     RETURNING ${CHECKPOINT_COLUMNS}`,
    [
      trees.map(() => randomUUID()),
      trees.map((t) => t.ledger_id),
      trees.map((t) => t.size),
      trees.map((t) => t.root ?? EMPTY_ROOT),
      trees.map((t) => t.last_seq),
      notes,
      signer.key.name,
      signer.keyId,
      signer.vkey,
    ],
  );
}
