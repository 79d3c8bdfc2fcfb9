import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { CONFIG, type Config } from '../config/config.js';
import { leafHash, perfectRoot, RightEdge, TILE_WIDTH } from '../core/merkle.js';
import { checkout, poolOf } from '../database/pooled-client.js';
import { journalHorizon } from '../entries/journal-horizon.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import { signTrees } from './checkpoint-rows.js';
import { hashesIn, queryOf } from './tree-store.js';

/** Entries taken into the trees per transaction: a backlog (a first start on an old journal) goes in steps. */
const BATCH = 5000;

/**
 * Keeps every ledger's Merkle tree (SPEC 14) level with the journal, off the request path: each tick, the entries
 * that passed the journal's horizon since the last one become leaves, in seq order, and every complete subtree
 * they finish is stored. Every CHECKPOINT_INTERVAL_SECONDS the trees that grew are signed.
 *
 * It is the one writer outside the write entrance, and on purpose: it moves no money and decides nothing; it
 * copies committed entries into tables of their own, so it cannot conflict with a movement. It runs READ
 * COMMITTED under the `merkle_progress` row lock (one instance at a time, the others skip the tick), taking no
 * SIREAD locks on the journal, so it adds no serialization failure to the hot path.
 */
@Injectable()
export class TreeBuilder implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(TreeBuilder.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastCheckpointAt = Date.now();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    private readonly signer: CheckpointSigner,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.config.treeIntervalMs);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      const due = Date.now() - this.lastCheckpointAt >= this.config.checkpointIntervalSeconds * 1000;
      const done = await this.extend(false, due);
      if (done && due) this.lastCheckpointAt = Date.now();
    } catch (error) {
      // The database may be away; the next tick tries again from where the trees stand.
      this.logger.warn({ err: error }, 'extending the Merkle trees failed');
    }
  }

  /**
   * Brings every tree up to the journal's horizon. `wait`: queue behind another instance's round rather than
   * skip (a caller about to sign wants the trees current). `checkpoint`: then sign the trees that grew.
   * False when another instance held the trees (and `wait` was false), or no horizon could be had.
   */
  async extend(wait: boolean, checkpoint = false): Promise<boolean> {
    const horizon = await journalHorizon(this.db);
    if (horizon === undefined) return false;
    for (;;) {
      const step = await this.step(horizon, wait, checkpoint);
      if (step !== 'more') return step === 'done';
    }
  }

  /** One transaction: up to BATCH entries become leaves (and, at the end, the checkpoints). */
  private async step(horizon: bigint, wait: boolean, checkpoint: boolean): Promise<'more' | 'done' | 'busy'> {
    const { client, release } = await checkout(poolOf(this.db));
    let ok = false;
    try {
      await client.query('BEGIN');
      const [progress] = (
        await client.query<{ last_seq: string }>(
          `SELECT last_seq FROM merkle_progress ${wait ? 'FOR UPDATE' : 'FOR UPDATE SKIP LOCKED'}`,
        )
      ).rows;
      if (progress === undefined) {
        await client.query('ROLLBACK');
        ok = true;
        return 'busy';
      }
      const from = BigInt(progress.last_seq);
      const entries = from >= horizon ? [] : await entriesAfter(client, from, horizon);
      if (entries.length > 0) await appendLeaves(client, entries);
      const full = entries.length === BATCH;
      const reached = full ? BigInt(entries[entries.length - 1]!.seq) : horizon;
      if (reached > from) await client.query(`UPDATE merkle_progress SET last_seq = $1`, [String(reached)]);
      if (!full && checkpoint) await signTrees(queryOf(client), this.signer, null);
      await client.query('COMMIT');
      ok = true;
      return full ? 'more' : 'done';
    } finally {
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      release(!ok);
    }
  }
}

interface EntryLeaf {
  seq: string;
  ledger_id: string;
  hash: string;
}

function entriesAfter(client: PoolClient, from: bigint, horizon: bigint): Promise<EntryLeaf[]> {
  return client
    .query<EntryLeaf>(
      `SELECT seq, ledger_id, hash FROM ledger_entries WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${BATCH}`,
      [String(from), String(horizon)],
    )
    .then((r) => r.rows);
}

interface TileWrite {
  ledger: string;
  level: number;
  index: number;
  hashes: Buffer[];
  seqs: Buffer[] | null;
}

/**
 * Appends entries (in seq order) to their ledgers' trees: the leaf hashes to the level-0 tiles, the root of each
 * tile they fill to the tile above, and so on up; then the new heads. A tile still growing gets an UPDATE that
 * appends to it, a new one an INSERT: a few rows per ledger and tick, and one more per 256 leaves.
 */
async function appendLeaves(client: PoolClient, entries: EntryLeaf[]): Promise<void> {
  const ledgerIds = [...new Set(entries.map((e) => e.ledger_id))].sort();
  const stored = await client.query<{ ledger_id: string; size: string; edge: Buffer }>(
    `SELECT ledger_id, size, edge FROM merkle_trees WHERE ledger_id = ANY($1::uuid[])`,
    [ledgerIds],
  );
  const growing = await client.query<{ ledger_id: string; level: number; hashes: Buffer }>(
    `SELECT ledger_id, level, hashes FROM merkle_tiles WHERE ledger_id = ANY($1::uuid[]) AND length(hashes) < 8192`,
    [ledgerIds],
  );
  const partial = new Map(growing.rows.map((t) => [`${t.ledger_id}/${t.level}`, hashesIn(t.hashes)]));
  const heads = new Map(ledgerIds.map((id) => [id, { edge: RightEdge.empty(), lastSeq: '' }]));
  for (const row of stored.rows)
    heads.get(row.ledger_id)!.edge = RightEdge.resume(Number(row.size), hashesIn(row.edge));
  const byLedger = new Map<string, EntryLeaf[]>(ledgerIds.map((id) => [id, []]));
  for (const e of entries) byLedger.get(e.ledger_id)!.push(e);

  const inserts: TileWrite[] = [];
  const updates: TileWrite[] = [];
  for (const [ledger, added] of byLedger) {
    const head = heads.get(ledger)!;
    const sizeBefore = head.edge.size;
    let hashes = added.map((e) => leafHash(Buffer.from(e.hash, 'hex')));
    const seqs = added.map((e) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(e.seq));
      return b;
    });
    for (const h of hashes) head.edge.append(h);
    head.lastSeq = added[added.length - 1]!.seq;
    // Level by level: the hashes this batch adds to tile level T, from which the roots of the tiles it fills go on
    // to level T + 1.
    for (let level = 0, before = sizeBefore; hashes.length > 0; level += 1, before = Math.floor(before / TILE_WIDTH)) {
      let content = before % TILE_WIDTH === 0 ? [] : [...(partial.get(`${ledger}/${level}`) ?? [])];
      const filled: Buffer[] = [];
      for (let i = 0, at = before; i < hashes.length;) {
        const take = Math.min(TILE_WIDTH - (at % TILE_WIDTH), hashes.length - i);
        const write: TileWrite = {
          ledger,
          level,
          index: Math.floor(at / TILE_WIDTH),
          hashes: hashes.slice(i, i + take),
          seqs: level === 0 ? seqs.slice(i, i + take) : null,
        };
        (at % TILE_WIDTH === 0 ? inserts : updates).push(write);
        content = content.concat(write.hashes);
        i += take;
        at += take;
        if (at % TILE_WIDTH === 0) {
          filled.push(perfectRoot(content));
          content = [];
        }
      }
      hashes = filled;
    }
  }
  if (updates.length > 0) {
    await client.query(
      `UPDATE merkle_tiles t SET hashes = t.hashes || u.hashes, seqs = t.seqs || u.seqs
       FROM unnest($1::uuid[], $2::smallint[], $3::bigint[], $4::bytea[], $5::bytea[]) AS u(ledger_id, level, idx, hashes, seqs)
       WHERE t.ledger_id = u.ledger_id AND t.level = u.level AND t.idx = u.idx`,
      tileColumns(updates),
    );
  }
  if (inserts.length > 0) {
    const [ledger, level, index, hashes, seqs] = tileColumns(inserts);
    await client.query(
      `INSERT INTO merkle_tiles (ledger_id, level, idx, hashes, seqs, first_seq)
       SELECT *, CASE WHEN level = 0 THEN ('x' || encode(substring(seqs FROM 1 FOR 8), 'hex'))::bit(64)::bigint END
       FROM unnest($1::uuid[], $2::smallint[], $3::bigint[], $4::bytea[], $5::bytea[]) AS u(ledger_id, level, idx, hashes, seqs)`,
      [ledger, level, index, hashes, seqs],
    );
  }
  const all = ledgerIds.map((id) => ({ id, ...heads.get(id)! }));
  await client.query(
    `INSERT INTO merkle_trees (ledger_id, size, last_seq, root, edge)
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bytea[])
     ON CONFLICT (ledger_id) DO UPDATE SET size = EXCLUDED.size, last_seq = EXCLUDED.last_seq, root = EXCLUDED.root,
       edge = EXCLUDED.edge, updated_at = now()`,
    [
      all.map((h) => h.id),
      all.map((h) => String(h.edge.size)),
      all.map((h) => h.lastSeq),
      all.map((h) => h.edge.root()),
      all.map((h) => Buffer.concat(h.edge.edge)),
    ],
  );
}

function tileColumns(writes: TileWrite[]): [string[], number[], string[], Buffer[], (Buffer | null)[]] {
  return [
    writes.map((w) => w.ledger),
    writes.map((w) => w.level),
    writes.map((w) => String(w.index)),
    writes.map((w) => Buffer.concat(w.hashes)),
    writes.map((w) => (w.seqs === null ? null : Buffer.concat(w.seqs))),
  ];
}
