import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verifiable history (SPEC 14). Each ledger's journal, in seq order below the horizon, is the leaf sequence of an
 * RFC 9162 tree, kept so that a proof reads O(log n) rows and never the journal:
 * - `merkle_leaves`: leaf index → the entry (by seq) and its leaf hash, in the ledger's order;
 * - `merkle_nodes`: every complete subtree above the leaves (level ≥ 1), written once when its last leaf arrives;
 * - `merkle_trees`: per ledger, the size, the entry seq of the last leaf, the root and the right edge (the hashes
 *   of the complete subtrees that make up the tree, largest first), from which the next leaf continues;
 * - `merkle_progress`: the journal seq up to which every ledger's tree is built (one row), whose row lock lets
 *   one instance at a time extend the trees;
 * - `checkpoints`: the signed notes, in the order they were made.
 * No foreign keys (as no table of the journal has one, see 1764800000000): every ledger id here is copied from an
 * entry, which its own reference check has already tied to its ledger.
 * Leaves, nodes and checkpoints never change once written (a trigger refuses UPDATE, DELETE and TRUNCATE), so an
 * edit to the journal shows as a leaf that no longer matches its entry, and an edit to the tree as a root that no
 * longer matches a checkpoint.
 */
export class MerkleTree1766200000000 implements MigrationInterface {
  name = 'MerkleTree1766200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE merkle_progress (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      last_seq bigint NOT NULL DEFAULT 0)`);
    await q.query(`INSERT INTO merkle_progress DEFAULT VALUES`);
    await q.query(`CREATE TABLE merkle_trees (
      ledger_id uuid PRIMARY KEY,
      size bigint NOT NULL CHECK (size >= 0),
      last_seq bigint NOT NULL,
      root bytea NOT NULL CHECK (length(root) = 32),
      edge bytea NOT NULL CHECK (length(edge) % 32 = 0),
      updated_at timestamp(3) with time zone NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE merkle_leaves (
      ledger_id uuid NOT NULL,
      leaf_index bigint NOT NULL CHECK (leaf_index >= 0),
      seq bigint NOT NULL,
      hash bytea NOT NULL CHECK (length(hash) = 32),
      PRIMARY KEY (ledger_id, leaf_index),
      CONSTRAINT merkle_leaves_seq_key UNIQUE (seq))`);
    await q.query(`CREATE TABLE merkle_nodes (
      ledger_id uuid NOT NULL,
      level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
      idx bigint NOT NULL CHECK (idx >= 0),
      hash bytea NOT NULL CHECK (length(hash) = 32),
      PRIMARY KEY (ledger_id, level, idx))`);
    await q.query(`CREATE TABLE checkpoints (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      ledger_id uuid NOT NULL,
      tree_size bigint NOT NULL CHECK (tree_size >= 0),
      root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
      last_seq bigint,
      note text NOT NULL,
      key_name text NOT NULL,
      key_id text NOT NULL,
      vkey text NOT NULL,
      created_at timestamp(3) with time zone NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX checkpoints_ledger_seq_idx ON checkpoints (ledger_id, seq)`);
    await q.query(`CREATE FUNCTION merkle_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['merkle_leaves', 'merkle_nodes', 'checkpoints']) {
      await q.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION merkle_append_only()`);
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the tables drops their triggers; the history they held is rebuilt from the journal by a later up,
    // except the checkpoints, whose signatures are gone with them: auditors keep their own copies.
    await q.query(`DROP TABLE checkpoints, merkle_nodes, merkle_leaves, merkle_trees, merkle_progress`);
    await q.query(`DROP FUNCTION merkle_append_only()`);
  }
}
