#!/usr/bin/env node
import { realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type NoteKey, parseVkey } from '../core/signed-note.js';
import { type Checkpoint, readCheckpointFile } from './checkpoint.js';
import { type OfflineSummary, verifyExport } from './offline.js';
import { type OnlineSummary, verifyOnline } from './online.js';
import { type Problem, type Verdict } from './problem.js';

/** Where the command writes; tests pass their own to run it without spawning. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal: the progress bar is drawn only there. */
  tty: boolean;
}

const OK = 0;
const FOUND_PROBLEM = 1;
const USAGE = 2;

interface Options {
  export?: string;
  checkpoint?: string[];
  key?: NoteKey[];
  url?: string;
  token?: string;
  since?: string;
  sample: number;
  timeout: number;
  json?: boolean;
}

class UsageError extends Error {}

const EXAMPLES = `
Offline, from a journal export and checkpoints saved earlier:
  ledger-verify --export journal.ndjson --checkpoint cp1.json --checkpoint cp2.json --key <vkey>
Online, against a running service and a checkpoint you kept:
  ledger-verify --url http://host:3000 --token <token> --since kept.json --key <vkey> [--sample 20]

Exit status: 0 verified, 1 a problem was found (the first one is printed), 2 bad usage.`;

/** Runs the command on its arguments (without node and the script) and returns the exit status. */
export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, tty: process.stderr.isTTY === true },
): Promise<number> {
  const program = new Command('ledger-verify')
    .description(
      "Verifies a ledger-service journal export against signed checkpoints, or a running service's history " +
        'against a checkpoint you kept.',
    )
    .option('--export <file>', 'journal export to verify offline (GET /v1/ledger/export?format=ndjson, unfiltered)')
    .option(
      '--checkpoint <file>',
      'checkpoint file: one checkpoint, a list answer, a JSON array or NDJSON (repeatable)',
      (file: string, files: string[] | undefined) => [...(files ?? []), file],
    )
    .option('--key <vkey>', 'trusted verifier key, name+id+key as the keys route shows it (repeatable)', collectKey)
    .option('--url <url>', 'base URL of a running service, to verify it online')
    .addOption(new Option('--token <token>', 'bearer token for --url').env('LEDGER_VERIFY_TOKEN'))
    .option('--since <file>', 'the checkpoint you kept, for --url')
    .option('--sample <n>', 'entries to prove included in the latest tree, for --url', count, 20)
    .option('--timeout <seconds>', 'per request, for --url', seconds, 30)
    .option('--json', 'print the summary or the problem as JSON')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });

  let options: Options;
  try {
    options = program.parse([...argv], { from: 'user' }).opts<Options>();
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? OK : USAGE;
    }
    throw e;
  }

  try {
    const verdict = await run(options, io);
    report(verdict, options.json === true, io);
    return verdict.ok ? OK : FOUND_PROBLEM;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`ledger-verify: ${e.message} (see --help)\n`);
    return USAGE;
  }
}

type Outcome = Verdict<({ mode: 'offline' } & OfflineSummary) | ({ mode: 'online' } & OnlineSummary)>;

async function run(o: Options, io: Io): Promise<Outcome> {
  const { url, checkpoint: files = [], key: keys = [] } = o;
  if ((o.export === undefined) === (url === undefined)) {
    throw new UsageError('give either --export (offline) or --url (online)');
  }
  if (o.export !== undefined) {
    if (o.since !== undefined) {
      throw new UsageError('--since is for --url; offline, pass checkpoints with --checkpoint');
    }
    if (files.length > 0 && keys.length === 0) throw new UsageError('checkpoints need the --key to verify them');
    return offline(o.export, files, keys, io);
  }
  if (url === undefined || !/^https?:\/\/[^/]/.test(url)) throw new UsageError('--url is an http:// or https:// URL');
  if (files.length > 0) throw new UsageError('--checkpoint is for --export; online, pass the kept one with --since');
  if (o.token === undefined || o.token === '') throw new UsageError('--url needs --token (or LEDGER_VERIFY_TOKEN)');
  if (o.since === undefined) throw new UsageError('--url needs --since, the checkpoint you kept');
  const kept = await loadCheckpoints([o.since]);
  if (!Array.isArray(kept)) return { ok: false, problem: kept };
  if (kept.length !== 1) throw new UsageError(`${o.since} holds ${kept.length} checkpoints; --since takes one`);
  const verdict = await verifyOnline({
    url,
    token: o.token,
    kept: kept[0]!,
    keys,
    sample: o.sample,
    timeoutMs: o.timeout * 1000,
    warn: (message) => void io.stderr.write(`${message}\n`),
  });
  return verdict.ok ? { ok: true, summary: { mode: 'online', ...verdict.summary } } : verdict;
}

async function offline(exportPath: string, files: string[], keys: NoteKey[], io: Io): Promise<Outcome> {
  let size: number;
  try {
    size = statSync(exportPath).size;
  } catch (e) {
    throw new UsageError(`cannot read ${exportPath}: ${reason(e)}`);
  }
  const checkpoints = await loadCheckpoints(files);
  if (!Array.isArray(checkpoints)) return { ok: false, problem: checkpoints };
  if (checkpoints.length === 0) {
    io.stderr.write('ledger-verify: no checkpoint given: the chains and balances are checked, the trees are not\n');
  }
  const bar = io.tty
    ? new SingleBar(
        {
          stream: io.stderr,
          format: 'verifying |{bar}| {percentage}% | {entries} entries | ETA {eta_formatted}',
          clearOnComplete: true,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(size, 0, { entries: 0 });
  try {
    const verdict = await verifyExport({
      exportPath,
      checkpoints,
      keys,
      onProgress: bar === undefined ? undefined : (bytes, entries) => bar.update(bytes, { entries }),
    });
    return verdict.ok ? { ok: true, summary: { mode: 'offline', ...verdict.summary } } : verdict;
  } finally {
    bar?.stop();
  }
}

async function loadCheckpoints(files: readonly string[]): Promise<Checkpoint[] | Problem> {
  const all: Checkpoint[] = [];
  for (const file of files) {
    let read: Checkpoint[] | Problem;
    try {
      read = await readCheckpointFile(file);
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${reason(e)}`);
    }
    if (!Array.isArray(read)) return read;
    all.push(...read);
  }
  return all;
}

function report(verdict: Outcome, json: boolean, io: Io): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(verdict.ok ? { ok: true, ...verdict.summary } : verdict)}\n`);
    return;
  }
  if (!verdict.ok) {
    const p = verdict.problem;
    const from = p.checkpoint === undefined ? '' : ` [${p.checkpoint.source}]`;
    io.stdout.write(`ledger-verify: FAILED, ${p.kind}: ${p.detail}${from}\n`);
    return;
  }
  const s = verdict.summary;
  if (s.mode === 'offline') {
    const lines = [
      `ledger-verify: OK, ${s.entries} entries of ${s.accounts} accounts in ${s.ledgers} ledger(s), ` +
        `${s.checkpoints} checkpoint(s) verified`,
      ...s.trees.map((t) => `  ledger ${t.ledgerId}: tree size ${t.treeSize}, root ${t.rootHash}`),
      ...s.currencies.map((c) => `  ledger ${c.ledgerId} ${c.currency}: debits = credits = ${c.totalDebits}`),
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  io.stdout.write(
    `ledger-verify: OK, ledger ${s.ledgerId} (${s.origin}): the kept checkpoint (size ${s.kept.treeSize}) is ` +
      `consistent with the latest (size ${s.latest.treeSize}, root ${s.latest.rootHash}), and ${s.sampled} ` +
      `sampled entr${s.sampled === 1 ? 'y is' : 'ies are'} in it\n`,
  );
}

function collectKey(vkey: string, keys: NoteKey[] | undefined): NoteKey[] {
  const key = parseVkey(vkey);
  if (key === undefined) throw new InvalidArgumentError('not an Ed25519 verifier key (name+hexid+base64)');
  return [...(keys ?? []), key];
}

function count(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new InvalidArgumentError('not a whole number');
  return Number.parseInt(text, 10);
}

function seconds(text: string): number {
  const n = count(text);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

const reason = (e: unknown): string =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : String(e);

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    // npm runs a bin through a symlink; the module's own URL is the resolved file.
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
