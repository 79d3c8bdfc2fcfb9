/**
 * Benchmark of the offline verifier (`ledger-verify --export`, SPEC 14): for each size, writes a synthetic valid
 * journal export of that many entries (3 ledgers, 2 currencies, 600 accounts) and one signed checkpoint per
 * ledger at its full size, then verifies it in a fresh child process, so that the peak RSS reported is the
 * verifier's alone and not the generator's. A second child verifies the same files with V8's heap capped (old
 * space 16 MiB, semi-spaces 1 MiB): left alone, V8 lets its heap grow before collecting, so the first peak rises
 * with the input for a while even though what the verifier keeps does not; the capped run shows what it needs.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/verify-export.js [entries ...]   (default: 20000 100000)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { leafHash, RightEdge } from '../src/core/merkle.js';
import { readCheckpointFile } from '../src/verifier/checkpoint.js';
import { type JournalEntry } from '../src/verifier/entry.js';
import { verifyExport } from '../src/verifier/offline.js';
import {
  signedCheckpoint,
  signingKey,
  syntheticJournal,
  syntheticLedgers,
  writeNdjson,
} from '../test/support/synthetic-journal.js';
import { parseVkey } from '../src/core/signed-note.js';

const LEDGERS = 3;
const ACCOUNTS_PER_LEDGER = 200;

interface Measure {
  ok: boolean;
  entries: number;
  seconds: number;
  maxRssMiB: number;
  problem?: string;
}

async function child(exportPath: string, checkpointPath: string, vkey: string): Promise<void> {
  const checkpoints = await readCheckpointFile(checkpointPath);
  const key = parseVkey(vkey);
  if (!Array.isArray(checkpoints) || key === undefined) throw new Error('bad benchmark input');
  const start = performance.now();
  const verdict = await verifyExport({ exportPath, checkpoints, keys: [key] });
  const measure: Measure = {
    ok: verdict.ok,
    entries: verdict.ok ? verdict.summary.entries : 0,
    seconds: (performance.now() - start) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    ...(verdict.ok ? {} : { problem: verdict.problem.detail }),
  };
  process.stdout.write(`${JSON.stringify(measure)}\n`);
}

function generate(dir: string, entries: number): { exportPath: string; checkpointPath: string; vkey: string } {
  const key = signingKey('bench');
  const ledgers = syntheticLedgers(LEDGERS);
  const edges = new Map(ledgers.map((l) => [l.id, RightEdge.empty()]));
  function* tracked(): Generator<JournalEntry> {
    for (const e of syntheticJournal({
      ledgers: LEDGERS,
      accountsPerLedger: ACCOUNTS_PER_LEDGER,
      transfers: entries / 2,
      seed: 42,
    })) {
      edges.get(e.ledgerId)!.append(leafHash(Buffer.from(e.hash, 'hex')));
      yield e;
    }
  }
  const exportPath = join(dir, `journal-${entries}.ndjson`);
  writeNdjson(exportPath, tracked());
  const checkpointPath = join(dir, `checkpoints-${entries}.json`);
  const data = ledgers.map((l) => signedCheckpoint(l, edges.get(l.id)!.size, edges.get(l.id)!.root(), key));
  writeFileSync(checkpointPath, JSON.stringify({ data, nextCursor: null }));
  return { exportPath, checkpointPath, vkey: key.vkey };
}

function parent(sizes: number[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-verify-export-'));
  try {
    for (const size of sizes) {
      const made = performance.now();
      const { exportPath, checkpointPath, vkey } = generate(dir, size);
      const madeSeconds = (performance.now() - made) / 1000;
      const verify = (...nodeFlags: string[]): Measure =>
        JSON.parse(
          execFileSync(
            process.execPath,
            [...nodeFlags, fileURLToPath(import.meta.url), '--child', exportPath, checkpointPath, vkey],
            { encoding: 'utf8' },
          ),
        ) as Measure;
      const m = verify();
      const capped = verify('--max-old-space-size=16', '--max-semi-space-size=1');
      const mib = statSync(exportPath).size / 2 ** 20;
      process.stdout.write(
        `${size} entries (${mib.toFixed(1)} MiB, written in ${madeSeconds.toFixed(1)} s): ` +
          `${m.ok ? 'verified' : `FAILED: ${m.problem}`} in ${m.seconds.toFixed(2)} s ` +
          `(${Math.round(m.entries / m.seconds)} entries/s), peak RSS ${m.maxRssMiB.toFixed(1)} MiB; ` +
          `with the heap capped: ${capped.ok ? 'verified' : 'FAILED'} in ${capped.seconds.toFixed(2)} s, ` +
          `peak RSS ${capped.maxRssMiB.toFixed(1)} MiB\n`,
      );
      if (!m.ok || !capped.ok) process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await child(args[1]!, args[2]!, args[3]!);
} else {
  const sizes = args.length > 0 ? args.map((a) => Number.parseInt(a, 10)) : [20_000, 100_000];
  if (sizes.some((n) => !Number.isSafeInteger(n) || n <= 0 || n % 2 !== 0)) {
    throw new RangeError('sizes are positive even numbers of entries (two per transfer)');
  }
  parent(sizes);
}
