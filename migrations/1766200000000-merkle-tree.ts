import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verifiable history (SPEC 14). Each ledger's journal, in seq order below the horizon, is the leaf sequence of an
 * RFC 9162 tree, kept so that a proof reads a few rows and never the journal:
 * - `merkle_tiles`: the tree as C2SP tlog-tiles lays it out, rows of up to 256 hashes: tile level 0 holds the leaf
 *   hashes (and, in `seqs`, the seq of each leaf's entry, 8 bytes big-endian each), tile level 1 the roots of the
 *   full level-0 tiles, and so on. A tile only ever grows: a trigger refuses DELETE, TRUNCATE, and any UPDATE but
 *   appending to a tile that is not full;
 * - `merkle_trees`: per ledger, the size, the entry seq of the last leaf, the root and the right edge (the hashes
 *   of the complete subtrees that make up the tree, largest first), from which the next leaf continues;
 * - `merkle_progress`: the journal seq up to which every ledger's tree is built (one row), whose row lock lets
 *   one instance at a time extend the trees;
 * - `checkpoints`: the signed notes, in the order they were made (append-only).
 * No foreign keys (as no table of the journal has one, see 1764800000000): every ledger id here is copied from an
 * entry, which its own reference check has already tied to its ledger.
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
    await q.query(`CREATE TABLE merkle_tiles (
      ledger_id uuid NOT NULL,
      level smallint NOT NULL CHECK (level BETWEEN 0 AND 7),
      idx bigint NOT NULL CHECK (idx >= 0),
      hashes bytea NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
      first_seq bigint,
      seqs bytea,
      PRIMARY KEY (ledger_id, level, idx),
      CONSTRAINT merkle_tiles_seqs_check CHECK (
        CASE WHEN level = 0 THEN first_seq IS NOT NULL AND length(seqs) * 4 = length(hashes)
             ELSE first_seq IS NULL AND seqs IS NULL END))`);
    // An entry's leaf: the level-0 tile whose first seq is the last at or below the entry's.
    await q.query(`CREATE INDEX merkle_tiles_first_seq_idx ON merkle_tiles (ledger_id, first_seq) WHERE level = 0`);
    // The tiles still growing (at most one per level and ledger), which the builder appends to.
    await q.query(`CREATE INDEX merkle_tiles_growing_idx ON merkle_tiles (ledger_id) WHERE length(hashes) < 8192`);
    await q.query(`CREATE FUNCTION merkle_tiles_grow_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'UPDATE' THEN
          RAISE EXCEPTION 'merkle tiles only grow: % refused', TG_OP USING ERRCODE = 'restrict_violation';
        END IF;
        IF length(OLD.hashes) = 8192
           OR (NEW.ledger_id, NEW.level, NEW.idx) IS DISTINCT FROM (OLD.ledger_id, OLD.level, OLD.idx)
           OR NEW.first_seq IS DISTINCT FROM OLD.first_seq
           OR substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) <> OLD.hashes
           OR substring(NEW.seqs FROM 1 FOR length(OLD.seqs)) IS DISTINCT FROM OLD.seqs THEN
          RAISE EXCEPTION 'merkle tiles only grow: % refused', TG_OP USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER merkle_tiles_grow_only BEFORE UPDATE OR DELETE ON merkle_tiles
      FOR EACH ROW EXECUTE FUNCTION merkle_tiles_grow_only()`);
    await q.query(`CREATE TRIGGER merkle_tiles_no_truncate BEFORE TRUNCATE ON merkle_tiles
      FOR EACH STATEMENT EXECUTE FUNCTION merkle_tiles_grow_only()`);
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
    await q.query(`CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
      FOR EACH ROW EXECUTE FUNCTION merkle_append_only()`);
    await q.query(`CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
      FOR EACH STATEMENT EXECUTE FUNCTION merkle_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the tables drops their triggers; the history they held is rebuilt from the journal by a later up,
    // except the checkpoints, whose signatures are gone with them: auditors keep their own copies.
    await q.query(`DROP TABLE checkpoints, merkle_tiles, merkle_trees, merkle_progress`);
    await q.query(`DROP FUNCTION merkle_append_only()`);
    await q.query(`DROP FUNCTION merkle_tiles_grow_only()`);
  }
}
