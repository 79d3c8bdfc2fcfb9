import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { entryHash, GENESIS_HASH } from '../../src/core/hash-chain.js';
import { leafHash, RightEdge } from '../../src/core/merkle.js';
import {
  formatCheckpoint,
  formatVkey,
  type NoteKey,
  noteKey,
  rawPublicKey,
  signNote,
} from '../../src/core/signed-note.js';
import { type JournalEntry, fieldsOf } from '../../src/verifier/entry.js';

/**
 * Synthetic journals for the verifier's tests and benchmark: balanced transfers (a debit and a credit entry
 * each) between accounts of a few ledgers and currencies, hash-chained as the service chains them, with
 * seeded randomness so a failing test replays. Generation keeps only account heads, like the verifier.
 */

export interface SyntheticLedger {
  id: string;
  name: string;
}

export interface SyntheticOptions {
  ledgers?: number;
  /** At least 4: two accounts per currency, so every transfer has two distinct ends. */
  accountsPerLedger?: number;
  transfers: number;
  seed?: number;
}

interface Account {
  id: string;
  ledgerId: string;
  currency: string;
  normal: 'debit' | 'credit';
  version: number;
  lastHash: string;
  balance: bigint;
}

const CURRENCIES = ['USD', 'EUR'] as const;
const EPOCH = Date.UTC(2026, 0, 1);

/** A UUID-shaped id derived from a label, so the same seed gives the same ids. */
export function idOf(label: string): string {
  const h = createHash('sha256').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function syntheticLedgers(count = 3): SyntheticLedger[] {
  return Array.from({ length: count }, (_, i) => ({ id: idOf(`ledger ${i}`), name: `books-${i}` }));
}

/** mulberry32: small, seeded, good enough to pick accounts, amounts and operations reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* syntheticJournal(options: SyntheticOptions): Generator<JournalEntry> {
  const perLedger = options.accountsPerLedger ?? 6;
  if (perLedger < 4) throw new RangeError('at least 4 accounts per ledger');
  const rnd = seededRandom(options.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const books = syntheticLedgers(options.ledgers ?? 3).map((ledger) =>
    CURRENCIES.map((currency, c) =>
      Array.from({ length: Math.floor(perLedger / 2) + (c === 0 ? perLedger % 2 : 0) }, (_, i): Account => ({
        id: idOf(`${ledger.id} ${currency} ${i}`),
        ledgerId: ledger.id,
        currency,
        normal: i % 2 === 0 ? 'debit' : 'credit',
        version: 0,
        lastHash: GENESIS_HASH,
        balance: 0n,
      })),
    ),
  );
  let seq = 1000;
  for (let t = 0; t < options.transfers; t += 1) {
    const accounts = pick(pick(books));
    const debit = pick(accounts);
    let credit = pick(accounts);
    while (credit === debit) credit = pick(accounts);
    const amount = BigInt(1 + Math.floor(rnd() * 1_000_000));
    const transferId = idOf(`transfer ${t}`);
    const createdAt = new Date(EPOCH + t * 37).toISOString();
    // Gaps in seq are normal: other transactions took those numbers and rolled back.
    seq += rnd() < 0.05 ? 3 : 1;
    yield post(debit, 'debit', amount, transferId, createdAt, seq);
    seq += 1;
    yield post(credit, 'credit', amount, transferId, createdAt, seq);
  }
}

function post(
  a: Account,
  direction: 'debit' | 'credit',
  amount: bigint,
  transferId: string,
  createdAt: string,
  seq: number,
): JournalEntry {
  a.version += 1;
  a.balance += direction === a.normal ? amount : -amount;
  const entry: JournalEntry = {
    id: idOf(`entry ${seq}`),
    seq: String(seq),
    transferId,
    accountId: a.id,
    currency: a.currency,
    direction,
    amount: amount.toString(),
    accountVersion: a.version,
    balanceAfter: a.balance.toString(),
    createdAt,
    prevHash: a.lastHash,
    hash: '',
    ledgerId: a.ledgerId,
  };
  entry.hash = entryHash(entry.prevHash, fieldsOf(entry));
  a.lastHash = entry.hash;
  return entry;
}

/**
 * What a forger with database access would do after changing an account's entry: recompute that account's
 * balances (when asked) and hashes from `fromVersion` on, so its chain checks out again. Returns new entries.
 */
export function rechain(
  entries: readonly JournalEntry[],
  accountId: string,
  fromVersion: number,
  options: { balances: boolean },
): JournalEntry[] {
  let prev: JournalEntry | undefined;
  let normal: 'debit' | 'credit' = 'debit';
  return entries.map((original) => {
    if (original.accountId !== accountId) return original;
    const e = { ...original };
    if (prev === undefined) normal = e.balanceAfter.startsWith('-') ? opposite(e.direction) : e.direction;
    if (e.accountVersion >= fromVersion) {
      if (options.balances) {
        const before = prev === undefined ? 0n : BigInt(prev.balanceAfter);
        e.balanceAfter = (before + (e.direction === normal ? BigInt(e.amount) : -BigInt(e.amount))).toString();
      }
      e.prevHash = prev?.hash ?? GENESIS_HASH;
      e.hash = entryHash(e.prevHash, fieldsOf(e));
    }
    prev = e;
    return e;
  });
}

const opposite = (side: 'debit' | 'credit'): 'debit' | 'credit' => (side === 'debit' ? 'credit' : 'debit');

/** The root of a ledger's tree over its first `size` entries of the journal. */
export function treeOf(entries: Iterable<JournalEntry>, ledgerId: string, size: number): Buffer {
  const edge = RightEdge.empty();
  for (const e of entries) {
    if (edge.size === size) break;
    if (e.ledgerId === ledgerId) edge.append(leafHash(Buffer.from(e.hash, 'hex')));
  }
  if (edge.size !== size) throw new RangeError(`ledger ${ledgerId} has only ${edge.size} entries`);
  return edge.root();
}

export interface SigningKey {
  name: string;
  privateKey: KeyObject;
  /** The verifier key, parsed, and as the keys route shows it. */
  key: NoteKey;
  vkey: string;
}

export function signingKey(name = 'ledger-service'): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = noteKey(name, rawPublicKey(privateKey));
  return { name, privateKey, key, vkey: formatVkey(key) };
}

/** A checkpoint as the API shows it, signed like the service signs it (SPEC 14). */
export function signedCheckpoint(
  ledger: SyntheticLedger,
  treeSize: number,
  root: Buffer,
  key: SigningKey,
  origin = `ledger-service/${ledger.name}`,
): Record<string, unknown> {
  const note = signNote(formatCheckpoint({ origin, size: treeSize, root }), key.name, key.privateKey);
  return {
    id: idOf(`checkpoint ${ledger.id} ${treeSize}`),
    ledgerId: ledger.id,
    treeSize,
    rootHash: root.toString('hex'),
    lastSeq: null,
    createdAt: new Date(EPOCH).toISOString(),
    note,
    keyId: key.key.id.toString('hex'),
    keyName: key.name,
  };
}

/** Writes NDJSON in chunks, holding at most one chunk of lines. */
export function writeNdjson(path: string, rows: Iterable<unknown>): number {
  const fd = openSync(path, 'w');
  let count = 0;
  let chunk: string[] = [];
  try {
    for (const row of rows) {
      chunk.push(JSON.stringify(row));
      count += 1;
      if (chunk.length === 1000) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return count;
}

/** A stream that keeps what is written to it, to read a command's output in-process. */
export function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}
