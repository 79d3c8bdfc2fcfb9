import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  consistencySpans,
  foldSpan,
  inclusionSpans,
  leafHash,
  nodeHash,
  type NodeId,
  type Span,
  spanNodes,
} from '../core/merkle.js';
import { type Checkpoint, parseCheckpointJson } from './checkpoint.js';
import { type JournalEntry } from './entry.js';
import { main } from './ledger-verify.js';
import { sampleIndexes, verifyOnline } from './online.js';
import {
  rechain,
  signedCheckpoint,
  signingKey,
  type SigningKey,
  syntheticJournal,
  syntheticLedgers,
  sink,
} from '../../test/support/synthetic-journal.js';

const TOKEN = 'secret-token-that-must-never-be-printed';
const [ledger] = syntheticLedgers(1) as [ReturnType<typeof syntheticLedgers>[0]];
const journal = [...syntheticJournal({ ledgers: 1, transfers: 30, seed: 3 })]; // 60 entries, one ledger
const KEPT = 20;

/** A service's audit routes over an in-memory tree, with ways to misbehave. */
class FakeService {
  leaves: Buffer[];
  requests: string[] = [];
  /** Entries served in inclusion proofs in place of the real ones, by leaf index. */
  substitutes = new Map<number, JournalEntry>();

  constructor(
    public entries: JournalEntry[],
    public key: SigningKey,
  ) {
    this.leaves = entries.map((e) => leafHash(Buffer.from(e.hash, 'hex')));
  }

  node({ level, index }: NodeId): Buffer {
    if (level === 0) return this.leaves[index]!;
    return nodeHash(
      this.node({ level: level - 1, index: 2 * index }),
      this.node({ level: level - 1, index: 2 * index + 1 }),
    );
  }

  hash(span: Span): Buffer {
    return foldSpan(spanNodes(span).map((n) => this.node(n)));
  }

  checkpoint(size: number): Record<string, unknown> {
    return signedCheckpoint(ledger, size, this.hash({ start: 0, end: size }), this.key);
  }

  answer(url: URL): { status: number; body: unknown } {
    const q = (name: string): number => Number(url.searchParams.get(name));
    switch (url.pathname) {
      case '/v1/audit/checkpoints/keys':
        return {
          status: 200,
          body: { keys: [{ name: this.key.name, keyId: this.key.key.id.toString('hex'), vkey: this.key.vkey }] },
        };
      case '/v1/audit/checkpoints/latest':
        return { status: 200, body: this.checkpoint(this.leaves.length) };
      case '/v1/audit/proofs/consistency': {
        const path = consistencySpans(q('from'), q('to')).map((s) => this.hash(s).toString('hex'));
        return { status: 200, body: { ledgerId: ledger.id, from: q('from'), to: q('to'), path } };
      }
      case '/v1/audit/proofs/inclusion': {
        const [leafIndex, treeSize] = [q('leafIndex'), q('treeSize')];
        const entry = this.substitutes.get(leafIndex) ?? this.entries[leafIndex]!;
        const path = inclusionSpans(leafIndex, treeSize).map((s) => this.hash(s).toString('hex'));
        const leaf = leafHash(Buffer.from(entry.hash, 'hex')).toString('hex');
        return { status: 200, body: { ledgerId: ledger.id, leafIndex, treeSize, leafHash: leaf, path, entry } };
      }
      default:
        return { status: 404, body: { code: 'NOT_FOUND', title: 'Not Found', status: 404 } };
    }
  }
}

const key = signingKey();
let service: FakeService;
let server: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'ledger-verify-online-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    service.requests.push(u.pathname);
    const { status, body } =
      req.headers.authorization === `Bearer ${TOKEN}`
        ? service.answer(u)
        : { status: 401, body: { code: 'UNAUTHORIZED', title: 'Unauthorized', status: 401 } };
    res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'application/problem+json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  service = new FakeService(journal, key);
});

const keptCheckpoint = (size = KEPT): Checkpoint =>
  parseCheckpointJson(new FakeService(journal, key).checkpoint(size), 'kept.json') as Checkpoint;

const verify = (options: Partial<Parameters<typeof verifyOnline>[0]> = {}) =>
  verifyOnline({ url, token: TOKEN, kept: keptCheckpoint(), keys: [key.key], sample: 5, timeoutMs: 5000, ...options });

describe('online verifier', () => {
  it('passes an honest service that grew from the kept checkpoint', async () => {
    const verdict = await verify();
    expect(verdict).toMatchObject({
      ok: true,
      summary: {
        ledgerId: ledger.id,
        kept: { treeSize: KEPT },
        latest: { treeSize: 60 },
        sampled: 5,
        serverKeysTrusted: false,
      },
    });
    expect(service.requests.filter((p) => p.endsWith('/consistency'))).toHaveLength(1);
    expect(service.requests.filter((p) => p.endsWith('/inclusion'))).toHaveLength(5);
  });

  it('proves every entry when the sample is at least the tree size, chains included', async () => {
    await expect(verify({ sample: 1000 })).resolves.toMatchObject({ ok: true, summary: { sampled: 60 } });
  });

  it('asks for no consistency proof when the kept checkpoint is the latest', async () => {
    await expect(verify({ kept: keptCheckpoint(60), sample: 0 })).resolves.toMatchObject({ ok: true });
    expect(service.requests.filter((p) => p.endsWith('/consistency'))).toHaveLength(0);
  });

  it("trusts the service's key when given none, and warns about it", async () => {
    const warnings: string[] = [];
    await expect(verify({ keys: [], warn: (m) => warnings.push(m) })).resolves.toMatchObject({
      ok: true,
      summary: { serverKeysTrusted: true, keys: [key.vkey] },
    });
    expect(warnings).toEqual([expect.stringContaining(`trusting the key(s) the service names: ${key.vkey}`)]);
  });

  it('fails a forked history: one old leaf changed and the roots signed again with the same key', async () => {
    const target = journal[5]!;
    const forked = rechain(
      journal.map((e, i) => (i === 5 ? { ...e, amount: String(BigInt(e.amount) + 1n) } : e)),
      target.accountId,
      target.accountVersion,
      { balances: true },
    );
    service = new FakeService(forked, key);
    expect(await verify()).toMatchObject({
      ok: false,
      problem: {
        kind: 'INCONSISTENT',
        detail: `checkpoint of size ${KEPT} is not consistent with the latest (size 60)`,
        checkpoint: { ledgerId: ledger.id, treeSize: KEPT },
      },
    });
  });

  it('fails an entry served in a proof that is not in the tree', async () => {
    // A well-formed, well-hashed entry, but not the one the tree holds at that leaf.
    const target = journal[33]!;
    const other = rechain(
      journal.map((e, i) => (i === 33 ? { ...e, createdAt: '2030-01-01T00:00:00.000Z' } : e)),
      target.accountId,
      target.accountVersion,
      { balances: false },
    )[33]!;
    service.substitutes.set(33, other);
    expect(await verify({ sample: 1000 })).toMatchObject({
      ok: false,
      problem: {
        kind: 'NOT_INCLUDED',
        detail: `entry ${target.id} (seq ${target.seq}, account ${target.accountId} version ${target.accountVersion}) is not in the tree (as leaf 33 of checkpoint ${ledger.id} size 60)`,
        accountId: target.accountId,
        accountVersion: target.accountVersion,
        seq: target.seq,
      },
    });
  });

  it('fails an entry whose hash does not match its fields', async () => {
    service.substitutes.set(7, { ...journal[7]!, amount: '1' });
    expect(await verify({ sample: 1000 })).toMatchObject({
      ok: false,
      problem: { kind: 'HASH_MISMATCH', accountId: journal[7]!.accountId, seq: journal[7]!.seq },
    });
  });

  it('fails a latest checkpoint signed with another key', async () => {
    service = new FakeService(journal, signingKey(key.name));
    expect(await verify()).toMatchObject({
      ok: false,
      problem: { kind: 'SIGNATURE', checkpoint: { ledgerId: ledger.id, treeSize: 60 } },
    });
  });

  it('reports a refused token without printing it', async () => {
    const verdict = await verify({ token: 'wrong' });
    expect(verdict).toMatchObject({
      ok: false,
      problem: {
        kind: 'SERVER',
        detail: `GET /v1/audit/checkpoints/latest?ledgerId=${ledger.id}: 401 UNAUTHORIZED: Unauthorized`,
      },
    });
  });

  it('reports a service that cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(verify({ url: `http://127.0.0.1:${port}` })).resolves.toMatchObject({
      ok: false,
      problem: { kind: 'SERVER', detail: expect.stringContaining('ECONNREFUSED') },
    });
  });
});

describe('ledger-verify --url', () => {
  const run = async (args: string[]) => {
    const [out, err] = [sink(), sink()];
    const code = await main(args, { stdout: out.stream, stderr: err.stream, tty: false });
    return { code, stdout: out.text(), stderr: err.text() };
  };
  const keptFile = join(dir, 'kept.json');
  beforeAll(() => writeFileSync(keptFile, JSON.stringify(new FakeService(journal, key).checkpoint(KEPT))));

  it('exits 0 for an honest service and never prints the token', async () => {
    const r = await run(['--url', url, '--token', TOKEN, '--since', keptFile, '--sample', '3']);
    expect(r).toMatchObject({ code: 0, stderr: expect.stringContaining('warning: no --key given') });
    expect(r.stdout).toContain('ledger-verify: OK');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('exits 1 for a forked history, naming it in JSON', async () => {
    service = new FakeService(
      rechain(
        journal.map((e, i) => (i === 0 ? { ...e, createdAt: '2030-01-01T00:00:00.000Z' } : e)),
        journal[0]!.accountId,
        1,
        {
          balances: false,
        },
      ),
      key,
    );
    const r = await run(['--url', url, '--token', TOKEN, '--since', keptFile, '--key', key.vkey, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: { kind: 'INCONSISTENT' } });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('exits 2 without a token or a kept checkpoint', async () => {
    await expect(run(['--url', url, '--since', keptFile])).resolves.toMatchObject({ code: 2 });
    await expect(run(['--url', url, '--token', TOKEN])).resolves.toMatchObject({ code: 2 });
  });
});

describe('sampleIndexes', () => {
  it('draws distinct indexes in range, ascending, or all of them', () => {
    for (let i = 0; i < 50; i += 1) {
      const s = sampleIndexes(30, 10);
      expect(new Set(s).size).toBe(10);
      expect(s).toEqual([...s].sort((a, b) => a - b));
      expect(s.every((x) => x >= 0 && x < 30)).toBe(true);
    }
    expect(sampleIndexes(4, 9)).toEqual([0, 1, 2, 3]);
    expect(sampleIndexes(0, 5)).toEqual([]);
  });
});
