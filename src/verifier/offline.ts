import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { entryHash, GENESIS_HASH } from '../core/hash-chain.js';
import { leafHash, RightEdge } from '../core/merkle.js';
import { type NoteKey } from '../core/signed-note.js';
import { type Checkpoint, nameOf, type OpenedCheckpoint, openCheckpoint, refOf } from './checkpoint.js';
import { describeEntry, parseEntry, type ParsedEntry } from './entry.js';
import { fail, type Problem, type Verdict } from './problem.js';

export interface OfflineOptions {
  /** A journal export in NDJSON (GET /v1/ledger/export?format=ndjson), unfiltered: every ledger's every entry. */
  exportPath: string;
  checkpoints: readonly Checkpoint[];
  /** The verifier keys a checkpoint may be signed with. */
  keys: readonly NoteKey[];
  /** Called every few thousand entries and at the end, for a progress display. */
  onProgress?: (bytesRead: number, entries: number) => void;
}

export interface OfflineSummary {
  entries: number;
  accounts: number;
  ledgers: number;
  checkpoints: number;
  lastSeq: string | null;
  /** Each ledger's tree over the whole export: compare with a checkpoint obtained later. */
  trees: Array<{ ledgerId: string; treeSize: number; rootHash: string }>;
  currencies: Array<{ ledgerId: string; currency: string; totalDebits: string; totalCredits: string }>;
}

type Side = 'debit' | 'credit';

interface Totals {
  ledgerId: string;
  currency: string;
  debits: bigint;
  credits: bigint;
}

/** All the verifier keeps of an account: memory grows with accounts, never with entries. */
interface AccountHead {
  version: number;
  lastHash: string;
  balance: bigint;
  normal: Side;
  totals: Totals;
}

interface LedgerTree {
  ledgerId: string;
  edge: RightEdge;
  /** This ledger's checkpoints by tree size; those before `next` are checked. */
  pending: OpenedCheckpoint[];
  next: number;
}

const PROGRESS_EVERY = 4096;

/**
 * Streams the export once, checking every account's chain and balances, each ledger's tree against the
 * checkpoints as it reaches their sizes, and double entry per ledger and currency at the end.
 *
 * The checkpoints are not checked against each other with consistency proofs: each one's root is compared with
 * the tree of one and the same leaf sequence at its size, so when all of them match, every earlier one is a
 * prefix of every later one by construction — which is exactly what a consistency proof would establish.
 */
export async function verifyExport(options: OfflineOptions): Promise<Verdict<OfflineSummary>> {
  const trees = new Map<string, LedgerTree>();
  const treeOf = (ledgerId: string): LedgerTree => {
    let t = trees.get(ledgerId);
    if (t === undefined) {
      t = { ledgerId, edge: RightEdge.empty(), pending: [], next: 0 };
      trees.set(ledgerId, t);
    }
    return t;
  };

  for (const c of options.checkpoints) {
    const opened = openCheckpoint(c, options.keys);
    if ('kind' in opened) return fail(opened);
    treeOf(opened.ledgerId).pending.push(opened);
  }
  for (const t of trees.values()) {
    const problem = orderCheckpoints(t) ?? settle(t);
    if (problem !== undefined) return fail(problem);
  }

  const accounts = new Map<string, AccountHead>();
  const totals = new Map<string, Totals>();
  let entries = 0;
  let lastSeq: ParsedEntry['seq'] | undefined;
  let lastSeqText: string | null = null;

  const check = (p: ParsedEntry): Problem | undefined => {
    const e = p.entry;
    const at = { accountId: e.accountId, accountVersion: e.accountVersion, seq: e.seq };
    if (lastSeq !== undefined && p.seq <= lastSeq) {
      return {
        kind: 'SEQ_ORDER',
        detail: `entries out of seq order at seq ${e.seq} (after seq ${lastSeqText})`,
        ...at,
      };
    }
    lastSeq = p.seq;
    lastSeqText = e.seq;

    const head = accounts.get(e.accountId);
    const expectedVersion = head === undefined ? 1 : head.version + 1;
    if (e.accountVersion !== expectedVersion) {
      return { kind: 'VERSION_GAP', detail: `${describeEntry(e)}: expected version ${expectedVersion}`, ...at };
    }
    if (head !== undefined && (head.totals.ledgerId !== e.ledgerId || head.totals.currency !== e.currency)) {
      return {
        kind: 'ACCOUNT_MISMATCH',
        detail: `${describeEntry(e)}: ledger ${e.ledgerId} ${e.currency}, but its earlier entries are in ledger ${head.totals.ledgerId} ${head.totals.currency}`,
        ...at,
      };
    }
    const expectedPrev = head?.lastHash ?? GENESIS_HASH;
    if (e.prevHash !== expectedPrev) {
      return {
        kind: 'HASH_MISMATCH',
        detail: `${describeEntry(e)}: prevHash ${e.prevHash} is not ${head === undefined ? 'the genesis hash' : `the hash of version ${head.version}`}, ${expectedPrev}`,
        ...at,
      };
    }
    const recomputed = entryHash(e.prevHash, p.fields);
    if (recomputed !== e.hash) {
      return {
        kind: 'HASH_MISMATCH',
        detail: `${describeEntry(e)}: hash ${e.hash} differs from the recomputed ${recomputed}`,
        ...at,
      };
    }

    const { amount, balanceAfter } = p.fields;
    let normal: Side;
    if (head === undefined) {
      // Every account starts at zero, so its first entry's balanceAfter is ±amount and the sign tells its normal side.
      if (balanceAfter === amount) normal = e.direction;
      else if (balanceAfter === -amount) normal = e.direction === 'debit' ? 'credit' : 'debit';
      else {
        return {
          kind: 'BALANCE_MISMATCH',
          detail: `${describeEntry(e)}: the first entry's balanceAfter ${e.balanceAfter} is neither ${e.amount} nor -${e.amount}`,
          ...at,
        };
      }
    } else {
      normal = head.normal;
      const expected = head.balance + (e.direction === normal ? amount : -amount);
      if (balanceAfter !== expected) {
        return {
          kind: 'BALANCE_MISMATCH',
          detail: `${describeEntry(e)}: balanceAfter ${e.balanceAfter}, but ${head.balance} ${e.direction === normal ? '+' : '-'} ${e.amount} is ${expected} (${normal}-normal account)`,
          ...at,
        };
      }
    }

    let sums = head?.totals;
    if (sums === undefined) {
      const key = `${e.ledgerId}\n${e.currency}`;
      sums = totals.get(key);
      if (sums === undefined) {
        sums = { ledgerId: e.ledgerId, currency: e.currency, debits: 0n, credits: 0n };
        totals.set(key, sums);
      }
    }
    if (e.direction === 'debit') sums.debits += amount;
    else sums.credits += amount;
    accounts.set(e.accountId, {
      version: e.accountVersion,
      lastHash: e.hash,
      balance: balanceAfter,
      normal,
      totals: sums,
    });

    const t = treeOf(e.ledgerId);
    t.edge.append(leafHash(Buffer.from(e.hash, 'hex')));
    entries += 1;
    return settle(t);
  };

  const stream = createReadStream(options.exportPath);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return fail({ kind: 'MALFORMED_ENTRY', detail: `line ${lineNo}: not JSON`, line: lineNo });
      }
      const parsed = parseEntry(value);
      if (typeof parsed === 'string') {
        return fail({ kind: 'MALFORMED_ENTRY', detail: `line ${lineNo}: ${parsed}`, line: lineNo });
      }
      const problem = check(parsed);
      if (problem !== undefined) return fail(problem);
      if (entries % PROGRESS_EVERY === 0) options.onProgress?.(stream.bytesRead, entries);
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  options.onProgress?.(stream.bytesRead, entries);

  for (const t of trees.values()) {
    const c = t.pending[t.next];
    if (c !== undefined) {
      return fail({
        kind: 'TRUNCATED',
        detail: `journal truncated: ${nameOf(c)} is beyond the export, which holds only ${t.edge.size} entries of ledger ${t.ledgerId}`,
        ledgerId: t.ledgerId,
        checkpoint: refOf(c),
      });
    }
  }
  for (const s of totals.values()) {
    if (s.debits !== s.credits) {
      return fail({
        kind: 'UNBALANCED_CURRENCY',
        detail: `ledger ${s.ledgerId} ${s.currency}: debits total ${s.debits}, credits total ${s.credits}`,
        ledgerId: s.ledgerId,
        currency: s.currency,
      });
    }
  }

  return {
    ok: true,
    summary: {
      entries,
      accounts: accounts.size,
      ledgers: [...trees.values()].filter((t) => t.edge.size > 0).length,
      checkpoints: options.checkpoints.length,
      lastSeq: lastSeqText,
      trees: [...trees.values()].map((t) => ({
        ledgerId: t.ledgerId,
        treeSize: t.edge.size,
        rootHash: t.edge.root().toString('hex'),
      })),
      currencies: [...totals.values()].map((s) => ({
        ledgerId: s.ledgerId,
        currency: s.currency,
        totalDebits: s.debits.toString(),
        totalCredits: s.credits.toString(),
      })),
    },
  };
}

/** Sorts a ledger's checkpoints by size; two that disagree on the same size, or on the origin, cannot both be true. */
function orderCheckpoints(t: LedgerTree): Problem | undefined {
  t.pending.sort((a, b) => a.treeSize - b.treeSize);
  const first = t.pending[0];
  for (let i = 0; i < t.pending.length; i += 1) {
    const c = t.pending[i]!;
    const before = t.pending[i - 1];
    if (before !== undefined && before.treeSize === c.treeSize && !before.root.equals(c.root)) {
      return {
        kind: 'CHECKPOINT_CONFLICT',
        detail: `${nameOf(c)}: two checkpoints of this size have different roots (${before.source}, ${c.source})`,
        checkpoint: refOf(c),
      };
    }
    // The note signs its origin, not the ledger id beside it: one ledger's checkpoints name one log.
    if (first !== undefined && c.origin !== first.origin) {
      return {
        kind: 'CHECKPOINT_CONFLICT',
        detail: `${nameOf(c)}: origin ${JSON.stringify(c.origin)} differs from ${JSON.stringify(first.origin)} of ${nameOf(first)}`,
        checkpoint: refOf(c),
      };
    }
  }
  return undefined;
}

/** Compares the tree with every checkpoint of its current size. */
function settle(t: LedgerTree): Problem | undefined {
  for (let c = t.pending[t.next]; c !== undefined && c.treeSize === t.edge.size; c = t.pending[t.next]) {
    if (!t.edge.root().equals(c.root)) {
      return {
        kind: 'TREE_MISMATCH',
        detail: `${nameOf(c)}: root differs from the journal's tree at size ${c.treeSize}`,
        ledgerId: t.ledgerId,
        checkpoint: refOf(c),
      };
    }
    t.next += 1;
  }
  return undefined;
}
