import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { LedgerError } from '../core/errors.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { consistencySpans, inclusionSpans } from '../core/merkle.js';
import { ENTRY_COLUMNS, type EntryRow, entryView } from '../entries/entry-rows.js';
import { ValidationFailed } from '../http/problem.js';
import { inScope, ledgerByRef, seenLedgerId } from '../ledgers/ledger-rows.js';
import type { Outcome } from '../writes/idempotency.js';
import type { WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { CHECKPOINT_COLUMNS, type CheckpointRow, checkpointView, signTrees } from './checkpoint-rows.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import type {
  CheckpointListQuery,
  CheckpointView,
  ConsistencyProofView,
  ConsistencyQuery,
  InclusionProofView,
  InclusionQuery,
  VerifierKeysView,
} from './checkpoints.dto.js';
import { TreeBuilder } from './tree-builder.js';
import { leafAt, leafOfSeq, type Query, spanHashes, type StoredLeaf, treeOf } from './tree-store.js';

/** Checkpoints and proofs (SPEC 14): every read is scoped by the caller's ledgers before anything is read. */
@Injectable()
export class CheckpointsService {
  private readonly query: Query;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly signer: CheckpointSigner,
    private readonly builder: TreeBuilder,
    private readonly writes: Writes,
  ) {
    this.query = <R extends object>(text: string, values?: unknown[]) => this.db.query<R[]>(text, values);
  }

  /** A checkpoint now: the trees are first brought up to the journal's horizon, so it covers what has committed. */
  async create(ledgerRef: string | undefined, w: WriteRequest): Promise<Outcome<CheckpointView>> {
    const ledgerId = await this.ledgerOf(ledgerRef, w.scope);
    await this.builder.extend(true);
    return this.writes.submit(
      w,
      {
        run: async (tx) => {
          // The trees' lock, as the builder takes it: no leaf is added while the tree is read and signed.
          await tx.query('SELECT 1 FROM merkle_progress FOR UPDATE');
          const [row] = await signTrees((text, values) => tx.query(text, values), this.signer, [ledgerId]);
          return checkpointView(row!);
        },
      },
      ledgerId,
    );
  }

  async list(q: CheckpointListQuery, scope: LedgerScope): Promise<Page<CheckpointView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints
       WHERE ${inScope('ledger_id', 1)} AND ($2::text IS NULL OR ledger_id = (${ledgerByRef(2)}))
         AND ($3::bigint IS NULL OR seq > $3::bigint)
       ORDER BY seq LIMIT $4`,
      [scope.ids, q.ledgerId ?? null, after, q.limit + 1],
    );
    return toPage(rows, q.limit, checkpointView, (r) => [r.seq]);
  }

  async latest(ledgerRef: string | undefined, scope: LedgerScope): Promise<CheckpointView> {
    const ledgerId = await this.ledgerOf(ledgerRef, scope);
    const [row] = await this.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE ledger_id = $1 ORDER BY seq DESC LIMIT 1`,
      [ledgerId],
    );
    if (row === undefined) throw new LedgerError('NOT_FOUND', `ledger ${ledgerId} has no checkpoint yet`);
    return checkpointView(row);
  }

  /** The key signing now, then every other key that signed a stored checkpoint (before a rotation). */
  async keys(): Promise<VerifierKeysView> {
    const rows = await this.query<{ key_name: string; key_id: string; vkey: string }>(
      `SELECT DISTINCT key_name, key_id, vkey FROM checkpoints WHERE vkey <> $1 ORDER BY key_name, key_id`,
      [this.signer.vkey],
    );
    return {
      keys: [
        { name: this.signer.key.name, keyId: this.signer.keyId, vkey: this.signer.vkey, current: true },
        ...rows.map((r) => ({ name: r.key_name, keyId: r.key_id, vkey: r.vkey, current: false })),
      ],
    };
  }

  async inclusion(q: InclusionQuery, scope: LedgerScope): Promise<InclusionProofView> {
    const { ledgerId, leaf, entry } =
      q.entryId !== undefined ? await this.leafOfEntry(q.entryId, scope) : await this.leafAt(q, scope);
    const size = await this.treeSize(ledgerId, q.treeSize);
    if (leaf === undefined || leaf.index >= size) {
      throw new LedgerError(
        'INVALID_TREE_SIZE',
        leaf === undefined
          ? `entry ${entry.id} has not passed the journal's horizon into the tree yet`
          : `leaf ${leaf.index} is not in a tree of ${size}`,
      );
    }
    const path = await spanHashes(this.query, ledgerId, inclusionSpans(leaf.index, size));
    return {
      ledgerId,
      leafIndex: leaf.index,
      treeSize: size,
      leafHash: leaf.hash.toString('hex'),
      path: path.map((h) => h.toString('hex')),
      entry: entryView(entry),
    };
  }

  async consistency(q: ConsistencyQuery, scope: LedgerScope): Promise<ConsistencyProofView> {
    const ledgerId = await this.ledgerOf(q.ledgerId, scope);
    const to = await this.treeSize(ledgerId, q.to);
    if (q.from > to) throw new LedgerError('INVALID_TREE_SIZE', `from ${q.from} is after to ${to}`);
    const path = await spanHashes(this.query, ledgerId, consistencySpans(q.from, to));
    return { ledgerId, from: q.from, to, path: path.map((h) => h.toString('hex')) };
  }

  /** The size asked for, or the current one; a tree never has more leaves than the stored one. */
  private async treeSize(ledgerId: string, asked: number | undefined): Promise<number> {
    const current = Number((await treeOf(this.query, ledgerId))?.size ?? 0);
    if (asked === undefined) return current;
    if (asked > current) throw new LedgerError('INVALID_TREE_SIZE', `the tree has ${current} leaves, not ${asked}`);
    return asked;
  }

  /** A ledger the caller sees (by id or name; absent: its only ledger, else `default`), or 404. */
  private ledgerOf(ref: string | undefined, scope: LedgerScope): Promise<string> {
    return seenLedgerId((t, v) => this.db.query<{ id: string }[]>(t, v), ref, scope);
  }

  private async leafOfEntry(entryId: string, scope: LedgerScope): Promise<Leaf> {
    const [entry] = await this.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE id = $1 AND ${inScope('ledger_id', 2)}`,
      [entryId, scope.ids],
    );
    if (entry === undefined) throw new LedgerError('NOT_FOUND', `entry ${entryId} does not exist`);
    return { ledgerId: entry.ledger_id, leaf: await leafOfSeq(this.query, entry.ledger_id, entry.seq), entry };
  }

  private async leafAt(q: InclusionQuery, scope: LedgerScope): Promise<Leaf> {
    if (q.leafIndex === undefined) {
      throw new ValidationFailed([{ field: 'entryId', message: 'entryId, or leafIndex (with ledgerId), is required' }]);
    }
    const ledgerId = await this.ledgerOf(q.ledgerId, scope);
    const leaf = await leafAt(this.query, ledgerId, q.leafIndex);
    if (leaf === undefined) throw new LedgerError('INVALID_TREE_SIZE', `leaf ${q.leafIndex} is not in the tree yet`);
    const [entry] = await this.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE seq = $1`, [
      leaf.seq,
    ]);
    // A leaf whose entry is gone: the journal was cut behind the service's back (verify names it).
    if (entry === undefined) throw new Error(`leaf ${q.leafIndex} of ledger ${ledgerId} has no entry`);
    return { ledgerId, leaf, entry };
  }
}

interface Leaf {
  ledgerId: string;
  /** Undefined while the entry has not passed the journal's horizon into the tree. */
  leaf: StoredLeaf | undefined;
  entry: EntryRow;
}
