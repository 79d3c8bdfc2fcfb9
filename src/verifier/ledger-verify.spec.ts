import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './ledger-verify.js';
import {
  signedCheckpoint,
  signingKey,
  sink,
  syntheticJournal,
  syntheticLedgers,
  treeOf,
  writeNdjson,
} from '../../test/support/synthetic-journal.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-verify-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = signingKey();
const [ledger] = syntheticLedgers(2) as [ReturnType<typeof syntheticLedgers>[0]];
const journal = [...syntheticJournal({ ledgers: 2, transfers: 40, seed: 11 })];
const size = journal.filter((e) => e.ledgerId === ledger.id).length;
const clean = join(dir, 'journal.ndjson');
const tampered = join(dir, 'tampered.ndjson');
const checkpoint = join(dir, 'cp.json');
writeNdjson(clean, journal);
writeNdjson(
  tampered,
  journal.map((e, i) => (i === 9 ? { ...e, amount: `${e.amount}0` } : e)),
);
writeFileSync(checkpoint, JSON.stringify(signedCheckpoint(ledger, size, treeOf(journal, ledger.id, size), key)));

async function run(...args: string[]) {
  const [out, err] = [sink(), sink()];
  const code = await main(args, { stdout: out.stream, stderr: err.stream, tty: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('ledger-verify', () => {
  it('exits 0 and prints a summary for a verified export', async () => {
    const r = await run('--export', clean, '--checkpoint', checkpoint, '--key', key.vkey);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`ledger-verify: OK, ${journal.length} entries of `);
    expect(r.stdout).toContain('2 ledger(s), 1 checkpoint(s) verified');
  });

  it('prints the summary as JSON with --json', async () => {
    const r = await run('--export', clean, '--checkpoint', checkpoint, '--key', key.vkey, '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, mode: 'offline', entries: journal.length, checkpoints: 1 });
  });

  it('exits 1 and names the first problem', async () => {
    const e = journal[9]!;
    const r = await run('--export', tampered, '--checkpoint', checkpoint, '--key', key.vkey);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ledger-verify: FAILED, HASH_MISMATCH: account ${e.accountId} version ${e.accountVersion} \\(seq ${e.seq}\\)`,
      ),
    );
    const json = await run('--export', tampered, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      problem: { kind: 'HASH_MISMATCH', accountId: e.accountId, accountVersion: e.accountVersion, seq: e.seq },
    });
  });

  it('exits 1 for a checkpoint that the given key did not sign', async () => {
    const r = await run('--export', clean, '--checkpoint', checkpoint, '--key', signingKey().vkey);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('SIGNATURE: checkpoint');
    expect(r.stdout).toContain(`[${checkpoint}]`);
  });

  it.each([
    ['no mode', []],
    ['both modes', ['--export', clean, '--url', 'http://localhost:3000', '--token', 't', '--since', checkpoint]],
    ['checkpoints without a key', ['--export', clean, '--checkpoint', checkpoint]],
    ['a malformed key', ['--export', clean, '--checkpoint', checkpoint, '--key', 'not-a-key']],
    ['a missing export', ['--export', join(dir, 'nothing.ndjson')]],
    ['a missing checkpoint file', ['--export', clean, '--checkpoint', join(dir, 'nothing.json'), '--key', key.vkey]],
    ['an unknown option', ['--export', clean, '--frobnicate']],
    ['a bad sample', ['--url', 'http://localhost:3000', '--token', 't', '--since', checkpoint, '--sample', 'x']],
  ])('exits 2 for %s', async (_, args) => {
    const r = await run(...args);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).not.toBe('');
  });

  it('exits 0 for --help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--export <file>');
  });
});
