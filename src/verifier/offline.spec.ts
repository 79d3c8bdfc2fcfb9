import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Checkpoint, checkpointsOf } from './checkpoint.js';
import { type JournalEntry } from './entry.js';
import { verifyExport } from './offline.js';
import {
  rechain,
  signedCheckpoint,
  signingKey,
  syntheticJournal,
  syntheticLedgers,
  treeOf,
  writeNdjson,
} from '../../test/support/synthetic-journal.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-verify-offline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = signingKey();
const ledgers = syntheticLedgers(3);
const [l0, l1, l2] = ledgers as [(typeof ledgers)[0], (typeof ledgers)[0], (typeof ledgers)[0]];
const journal = [...syntheticJournal({ ledgers: 3, transfers: 120, seed: 7 })];
const sizeOf = (entries: readonly JournalEntry[], ledgerId: string): number =>
  entries.filter((e) => e.ledgerId === ledgerId).length;
const full = (ledger: { id: string }): number => sizeOf(journal, ledger.id);
const mid = Math.floor(full(l0) / 2);

/** Ledger 0 at half and at full size, the other two at full size: all signed from the honest journal. */
const honestCheckpoints = (): Array<Record<string, unknown>> => [
  signedCheckpoint(l0, mid, treeOf(journal, l0.id, mid), key),
  ...ledgers.map((l) => signedCheckpoint(l, full(l), treeOf(journal, l.id, full(l)), key)),
];

let files = 0;
function write(entries: readonly JournalEntry[]): string {
  const path = join(dir, `journal-${(files += 1)}.ndjson`);
  writeNdjson(path, entries);
  return path;
}

function load(checkpoints: readonly unknown[]): Checkpoint[] {
  const path = join(dir, `checkpoints-${(files += 1)}.json`);
  writeFileSync(path, JSON.stringify({ data: checkpoints, nextCursor: null }));
  const read = checkpointsOf(readFileSync(path, 'utf8'), path);
  if (!Array.isArray(read)) throw new Error(read.detail);
  return read;
}

const verify = (
  entries: readonly JournalEntry[],
  checkpoints: readonly unknown[] = honestCheckpoints(),
  keys = [key.key],
) => verifyExport({ exportPath: write(entries), checkpoints: load(checkpoints), keys });

async function problemOf(...args: Parameters<typeof verify>) {
  const verdict = await verify(...args);
  if (verdict.ok) throw new Error('verified, but a problem was expected');
  return verdict.problem;
}

const indexOf = (predicate: (e: JournalEntry, i: number) => boolean): number => {
  const i = journal.findIndex(predicate);
  if (i < 0) throw new Error('no such entry in the synthetic journal');
  return i;
};

const withAmount = (entries: readonly JournalEntry[], i: number, amount: string): JournalEntry[] =>
  entries.map((e, j) => (j === i ? { ...e, amount } : e));

describe('offline verifier', () => {
  it('passes a clean export and counts what it checked', async () => {
    const verdict = await verify(journal);
    expect(verdict).toMatchObject({
      ok: true,
      summary: {
        entries: 240,
        accounts: new Set(journal.map((e) => e.accountId)).size,
        ledgers: 3,
        checkpoints: 4,
        lastSeq: journal.at(-1)!.seq,
      },
    });
    if (!verdict.ok) return;
    expect(verdict.summary.trees).toEqual(
      ledgers.map((l) => ({
        ledgerId: l.id,
        treeSize: full(l),
        rootHash: treeOf(journal, l.id, full(l)).toString('hex'),
      })),
    );
    expect(verdict.summary.currencies).toHaveLength(6);
    for (const c of verdict.summary.currencies) expect(c.totalDebits).toBe(c.totalCredits);
  });

  it('passes with no checkpoint at all, checking chains and balances', async () => {
    await expect(verify(journal, [])).resolves.toMatchObject({ ok: true, summary: { entries: 240, checkpoints: 0 } });
  });

  it('names the checkpoint whose root a rewritten account history no longer matches', async () => {
    // A forger changes an amount and recomputes the account's balances and chain: every chain check passes.
    const i = indexOf((e, j) => e.ledgerId === l0.id && j < 40 && e.accountVersion > 1);
    const target = journal[i]!;
    const forged = rechain(
      withAmount(journal, i, String(BigInt(target.amount) + 1n)),
      target.accountId,
      target.accountVersion,
      {
        balances: true,
      },
    );
    expect(await problemOf(forged)).toMatchObject({
      kind: 'TREE_MISMATCH',
      detail: `checkpoint ${l0.id} size ${mid}: root differs from the journal's tree at size ${mid}`,
      checkpoint: { ledgerId: l0.id, treeSize: mid },
    });
    // Without checkpoints only double entry can still tell.
    expect(await problemOf(forged, [])).toMatchObject({ kind: 'UNBALANCED_CURRENCY', ledgerId: l0.id });
  });

  it('names the account and version of a changed amount whose hash was not recomputed', async () => {
    const i = indexOf((e) => e.accountVersion === 3);
    const target = journal[i]!;
    expect(await problemOf(withAmount(journal, i, '999'))).toMatchObject({
      kind: 'HASH_MISMATCH',
      accountId: target.accountId,
      accountVersion: 3,
      seq: target.seq,
    });
  });

  it('names a truncated journal and the checkpoint beyond it', async () => {
    const last = journal.at(-1)!;
    const ledger = ledgers.find((l) => l.id === last.ledgerId)!;
    expect(await problemOf(journal.slice(0, -1))).toMatchObject({
      kind: 'TRUNCATED',
      detail: `journal truncated: checkpoint ${ledger.id} size ${full(ledger)} is beyond the export, which holds only ${full(ledger) - 1} entries of ledger ${ledger.id}`,
      checkpoint: { ledgerId: ledger.id, treeSize: full(ledger) },
    });
  });

  it('names the seq where two entries are swapped', async () => {
    const swapped = [...journal];
    [swapped[10], swapped[11]] = [journal[11]!, journal[10]!];
    expect(await problemOf(swapped)).toMatchObject({
      kind: 'SEQ_ORDER',
      seq: journal[10]!.seq,
      detail: `entries out of seq order at seq ${journal[10]!.seq} (after seq ${journal[11]!.seq})`,
    });
  });

  it('names a checkpoint whose signature was tampered with', async () => {
    const checkpoints = honestCheckpoints();
    const forged = checkpoints[2]!;
    const note = forged.note as string;
    const [, name, b64] = /\n\u2014 (\S+) (\S+)\n$/u.exec(note)!;
    const blob = Buffer.from(b64!, 'base64');
    blob[10]! ^= 0x01; // a byte of the signature itself, after the 4-byte key id
    forged.note = note.replace(`${name} ${b64}`, `${name} ${blob.toString('base64')}`);
    expect(await problemOf(journal, checkpoints)).toMatchObject({
      kind: 'SIGNATURE',
      detail: `checkpoint ${l1.id} size ${full(l1)}: signature does not verify with the given key(s)`,
      checkpoint: { ledgerId: l1.id, treeSize: full(l1) },
    });
  });

  it('names a checkpoint signed by another key, even under the same key name', async () => {
    const other = signingKey(key.name);
    const checkpoints = [...honestCheckpoints(), signedCheckpoint(l2, 5, treeOf(journal, l2.id, 5), other)];
    expect(await problemOf(journal, checkpoints)).toMatchObject({
      kind: 'SIGNATURE',
      checkpoint: { ledgerId: l2.id, treeSize: 5 },
    });
    // With both keys trusted, it verifies.
    await expect(verify(journal, checkpoints, [key.key, other.key])).resolves.toMatchObject({ ok: true });
  });

  it('names a ledger and currency whose debits and credits differ', async () => {
    // One more entry, well chained and with the right balance, but no other side.
    const last = journal.at(-1)!;
    const extra: JournalEntry = {
      ...last,
      id: 'extra',
      seq: String(BigInt(last.seq) + 1n),
      direction: 'debit',
      accountVersion: last.accountVersion + 1,
    };
    const entries = rechain([...journal, extra], last.accountId, extra.accountVersion, { balances: true });
    expect(await problemOf(entries)).toMatchObject({
      kind: 'UNBALANCED_CURRENCY',
      ledgerId: last.ledgerId,
      currency: last.currency,
    });
  });

  it('names the account and version of a wrong balanceAfter, even with its chain recomputed', async () => {
    const i = indexOf((e) => e.accountVersion === 4);
    const target = journal[i]!;
    const wrong = journal.map((e, j) => (j === i ? { ...e, balanceAfter: String(BigInt(e.balanceAfter) + 10n) } : e));
    expect(await problemOf(rechain(wrong, target.accountId, 4, { balances: false }))).toMatchObject({
      kind: 'BALANCE_MISMATCH',
      accountId: target.accountId,
      accountVersion: 4,
      seq: target.seq,
    });
  });

  it('names a first entry whose balance is not plus or minus its amount', async () => {
    const i = indexOf((e) => e.accountVersion === 1);
    const wrong = journal.map((e, j) => (j === i ? { ...e, balanceAfter: '0' } : e));
    const target = journal[i]!;
    expect(await problemOf(rechain(wrong, target.accountId, 1, { balances: false }))).toMatchObject({
      kind: 'BALANCE_MISMATCH',
      accountId: target.accountId,
      accountVersion: 1,
    });
  });

  it('names a missing version', async () => {
    const i = indexOf((e) => e.accountVersion === 2);
    const target = journal[i]!;
    const next = journal.find((e) => e.accountId === target.accountId && e.accountVersion === 3)!;
    expect(await problemOf(journal.filter((_, j) => j !== i))).toMatchObject({
      kind: 'VERSION_GAP',
      accountId: target.accountId,
      accountVersion: 3,
      seq: next.seq,
    });
  });

  it('names the line of a malformed entry', async () => {
    const path = write(journal);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(5, 0, '{"id": ');
    writeFileSync(path, lines.join('\n'));
    await expect(verifyExport({ exportPath: path, checkpoints: [], keys: [] })).resolves.toEqual({
      ok: false,
      problem: { kind: 'MALFORMED_ENTRY', detail: 'line 6: not JSON', line: 6 },
    });
    const badAmount = journal.map((e, j) => (j === 7 ? { ...e, amount: '0100' } : e));
    expect(await problemOf(badAmount)).toMatchObject({
      kind: 'MALFORMED_ENTRY',
      detail: 'line 8: amount is not a positive amount string',
    });
  });

  it('names two checkpoints of one size with different roots', async () => {
    const checkpoints = [...honestCheckpoints(), signedCheckpoint(l0, mid, treeOf(journal, l0.id, mid + 1), key)];
    expect(await problemOf(journal, checkpoints)).toMatchObject({
      kind: 'CHECKPOINT_CONFLICT',
      checkpoint: { ledgerId: l0.id, treeSize: mid },
    });
  });

  it('names a checkpoint whose JSON does not say what its signed note says', async () => {
    const checkpoints = honestCheckpoints();
    checkpoints[0]!.treeSize = mid + 1;
    expect(await problemOf(journal, checkpoints)).toMatchObject({
      kind: 'CHECKPOINT_MISMATCH',
      checkpoint: { ledgerId: l0.id, treeSize: mid + 1 },
    });
  });

  it('reports progress up to the size of the file', async () => {
    const exportPath = write(journal);
    const seen: number[] = [];
    await verifyExport({ exportPath, checkpoints: [], keys: [], onProgress: (bytes) => seen.push(bytes) });
    expect(seen.at(-1)).toBe(statSync(exportPath).size);
  });
});

describe('checkpoint files', () => {
  const [a, b] = honestCheckpoints() as [Record<string, unknown>, Record<string, unknown>];

  it.each([
    ['one checkpoint', JSON.stringify(a), 1],
    ['a list answer', JSON.stringify({ data: [a, b], nextCursor: null }), 2],
    ['a JSON array', JSON.stringify([a, b]), 2],
    ['NDJSON', `${JSON.stringify(a)}\n\n${JSON.stringify(b)}\n`, 2],
  ])('reads %s', (_, text, count) => {
    const read = checkpointsOf(text, 'cp.json');
    expect(Array.isArray(read) && read.map((c) => c.treeSize)).toEqual([a.treeSize, b.treeSize].slice(0, count));
  });

  it.each([
    ['an empty file', '', 'cp.json: holds no checkpoint'],
    ['a broken line', `${JSON.stringify(a)}\n{"x`, 'cp.json: line 2 is not JSON'],
    [
      'a checkpoint without a root',
      JSON.stringify({ ...a, rootHash: 'AB' }),
      'cp.json: rootHash is not 64 lowercase hex',
    ],
  ])('names what is wrong in %s', (_, text, detail) => {
    expect(checkpointsOf(text, 'cp.json')).toMatchObject({
      kind: 'MALFORMED_CHECKPOINT',
      detail: expect.stringContaining(detail),
    });
  });
});
