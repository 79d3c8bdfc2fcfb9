import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { entryHash } from '../src/core/hash-chain.js';
import { leafHash, RightEdge, verifyConsistency, verifyInclusion } from '../src/core/merkle.js';
import { openNote, parseCheckpoint, parseVkey } from '../src/core/signed-note.js';
import { startTestApp, type TestApp } from './support/app.js';
import { adminToken, tokensByRole } from './support/auth.js';
import { connect } from './support/database.js';
import { createAccount, fundingSource, transfer } from './support/ledger.js';
import { main as ledgerVerify } from '../src/verifier/ledger-verify.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// The trees follow the journal within 100 ms here, so that a test never waits on the default second.
const QUICK = { TREE_INTERVAL_MS: '100' };

/** Every entry of a ledger in seq order, through the auditor API. */
async function journal(t: TestApp, token: string, ledgerId: string): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await t.request(
      'GET',
      `/v1/ledger/entries?ledgerId=${ledgerId}&limit=500${cursor === null ? '' : `&cursor=${cursor}`}`,
      { token },
    );
    expect(page.status).toBe(200);
    all.push(...page.body.data);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return all;
}

/** The root of the first `size` entries, computed here from the entries' hashes alone. */
function rootOf(entries: any[], size = entries.length): Buffer {
  const edge = RightEdge.empty();
  for (const e of entries.slice(0, size)) edge.append(leafHash(hex(e.hash)));
  return edge.root();
}

async function checkpoint(t: TestApp, token: string, ledgerId?: string, key?: string) {
  const res = await t.request('POST', '/v1/audit/checkpoints', {
    token,
    body: ledgerId === undefined ? {} : { ledgerId },
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function someTransfers(t: TestApp, op: string, n: number, ledgerId?: string) {
  const funding = await fundingSource(t, op, 'USD', ledgerId);
  const a = await createAccount(t, op, ledgerId === undefined ? {} : { ledgerId });
  for (let i = 0; i < n; i += 1) await funding.fund(a.id, String(10 + i));
  return a;
}

describe('checkpoints and proofs', () => {
  let t: TestApp;
  let op: string;
  let auditor: string;
  let admin: string;
  let ledgerId: string;

  beforeAll(async () => {
    t = await startTestApp(QUICK);
    ({ operator: op, auditor, admin } = await tokensByRole(t));
    ledgerId = (await t.request('GET', '/v1/ledgers/default', { token: admin })).body.id;
  });
  afterAll(() => t.close());

  it('signs a checkpoint of the ledger’s entries as a C2SP note that the published key verifies', async () => {
    await someTransfers(t, op, 5);
    const cp = await checkpoint(t, auditor);
    const entries = await journal(t, auditor, ledgerId);
    expect(cp).toMatchObject({ ledgerId, treeSize: entries.length, lastSeq: entries[entries.length - 1].seq });
    expect(cp.rootHash).toBe(rootOf(entries).toString('hex'));

    const keys = (await t.request('GET', '/v1/audit/checkpoints/keys', { token: auditor })).body.keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ name: 'ledger-service', keyId: cp.keyId, current: true });
    const key = parseVkey(keys[0].vkey)!;
    const opened = openNote(cp.note, [key])!;
    expect(opened.verifiedBy).toEqual(['ledger-service']);
    expect(parseCheckpoint(opened.text)).toEqual({
      origin: 'ledger-service/default',
      size: entries.length,
      root: hex(cp.rootHash),
    });
    // Any other key, or an altered note, does not verify.
    expect(openNote(cp.note.replace(`\n${entries.length}\n`, `\n${entries.length + 1}\n`), [key])).toBeUndefined();

    const latest = await t.request('GET', '/v1/audit/checkpoints/latest', { token: auditor });
    expect(latest.body).toEqual(cp);
    const list = await t.request('GET', `/v1/audit/checkpoints?ledgerId=default&limit=500`, { token: auditor });
    expect(list.body.data).toContainEqual(cp);
  });

  it('replays a checkpoint asked for with the same Idempotency-Key', async () => {
    const first = await checkpoint(t, auditor, 'default', 'cp-key-1');
    const again = await t.request('POST', '/v1/audit/checkpoints', {
      token: auditor,
      body: { ledgerId: 'default' },
      headers: { 'idempotency-key': 'cp-key-1' },
    });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first);
  });

  it('proves every entry in the checkpoint that holds it, and each checkpoint a prefix of the next', async () => {
    const cp1 = await checkpoint(t, auditor);
    await someTransfers(t, op, 7);
    const cp2 = await checkpoint(t, auditor);
    expect(cp2.treeSize).toBeGreaterThan(cp1.treeSize);
    const entries = await journal(t, auditor, ledgerId);
    for (const [cp, size] of [
      [cp1, cp1.treeSize],
      [cp2, cp2.treeSize],
    ] as const) {
      for (const e of entries.slice(0, size)) {
        const proof = await t.request('GET', `/v1/audit/proofs/inclusion?entryId=${e.id}&treeSize=${size}`, {
          token: auditor,
        });
        expect(proof.status).toBe(200);
        expect(proof.body.entry).toEqual(e);
        expect(proof.body.leafHash).toBe(leafHash(hex(e.hash)).toString('hex'));
        const path = proof.body.path.map(hex);
        expect(verifyInclusion(proof.body.leafIndex, size, leafHash(hex(e.hash)), path, hex(cp.rootHash))).toBe(true);
      }
    }
    // The same leaf by index, as a verifier samples it.
    const byIndex = await t.request('GET', `/v1/audit/proofs/inclusion?ledgerId=default&leafIndex=3`, {
      token: auditor,
    });
    expect(byIndex.body).toMatchObject({ leafIndex: 3, entry: entries[3] });

    const consistency = await t.request(
      'GET',
      `/v1/audit/proofs/consistency?ledgerId=default&from=${cp1.treeSize}&to=${cp2.treeSize}`,
      { token: auditor },
    );
    expect(consistency.status).toBe(200);
    const path = consistency.body.path.map(hex);
    expect(verifyConsistency(cp1.treeSize, cp2.treeSize, hex(cp1.rootHash), hex(cp2.rootHash), path)).toBe(true);
    // A different old root (another history of the same size) does not fit the proof.
    expect(
      verifyConsistency(cp1.treeSize, cp2.treeSize, rootOf(entries.slice(1), cp1.treeSize), hex(cp2.rootHash), path),
    ).toBe(false);
    for (const from of [0, 1, cp1.treeSize - 1, cp2.treeSize]) {
      const res = await t.request('GET', `/v1/audit/proofs/consistency?from=${from}&to=${cp2.treeSize}`, {
        token: auditor,
      });
      expect(
        verifyConsistency(from, cp2.treeSize, rootOf(entries, from), hex(cp2.rootHash), res.body.path.map(hex)),
      ).toBe(true);
    }
  });

  it('refuses sizes beyond the tree and an entry outside the size asked, with 422 INVALID_TREE_SIZE', async () => {
    const cp = await checkpoint(t, auditor);
    const entries = await journal(t, auditor, ledgerId);
    const tooBig = cp.treeSize + 1000;
    const refusals = [
      `/v1/audit/proofs/consistency?from=1&to=${tooBig}`,
      `/v1/audit/proofs/consistency?from=${cp.treeSize}&to=2`,
      `/v1/audit/proofs/inclusion?entryId=${entries[0].id}&treeSize=${tooBig}`,
      `/v1/audit/proofs/inclusion?entryId=${entries[5].id}&treeSize=5`,
      `/v1/audit/proofs/inclusion?ledgerId=default&leafIndex=${tooBig}`,
    ];
    for (const url of refusals) {
      const res = await t.request('GET', url, { token: auditor });
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 422, code: 'INVALID_TREE_SIZE' });
    }
    for (const url of [
      '/v1/audit/proofs/consistency?from=-1',
      '/v1/audit/proofs/consistency?from=1e3',
      '/v1/audit/proofs/inclusion',
      '/v1/audit/proofs/inclusion?entryId=nope',
    ]) {
      expect((await t.request('GET', url, { token: auditor })).status).toBe(400);
    }
    const unknown = await t.request('GET', `/v1/audit/proofs/inclusion?entryId=${crypto.randomUUID()}`, {
      token: auditor,
    });
    expect(unknown.status).toBe(404);
  });

  it('keeps a caller limited to some ledgers to their trees, and operators out', async () => {
    const other = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `cp-${Date.now()}` } })).body;
    await someTransfers(t, op, 2, other.id);
    const otherCp = await checkpoint(t, admin, other.id);
    expect(parseCheckpoint(otherCp.note.split('\n\n')[0] + '\n')!.origin).toBe(`ledger-service/${other.name}`);
    const res = await t.request('POST', '/v1/users', {
      token: admin,
      body: {
        username: `cp-aud-${Date.now()}`,
        password: 'limited-auditor-pw',
        roles: ['auditor'],
        ledgers: ['default'],
      },
    });
    expect(res.status).toBe(201);
    const limited = (
      await t.request('POST', '/v1/auth/token', {
        body: { username: res.body.username, password: 'limited-auditor-pw' },
      })
    ).body.accessToken;
    const otherEntry = (await journal(t, admin, other.id))[0];
    for (const url of [
      `/v1/audit/checkpoints/latest?ledgerId=${other.id}`,
      `/v1/audit/proofs/inclusion?entryId=${otherEntry.id}`,
      `/v1/audit/proofs/consistency?ledgerId=${other.id}&from=0`,
    ]) {
      expect((await t.request('GET', url, { token: limited })).status).toBe(404);
    }
    const refused = await t.request('POST', '/v1/audit/checkpoints', { token: limited, body: { ledgerId: other.id } });
    expect(refused.status).toBe(404);
    const list = await t.request('GET', '/v1/audit/checkpoints?limit=500', { token: limited });
    expect(list.body.data.length).toBeGreaterThan(0);
    expect(list.body.data.every((c: any) => c.ledgerId === ledgerId)).toBe(true);
    for (const url of ['/v1/audit/checkpoints', '/v1/audit/checkpoints/keys', '/v1/audit/proofs/consistency?from=0']) {
      expect((await t.request('GET', url, { token: op })).status).toBe(403);
    }
    expect((await t.request('POST', '/v1/audit/checkpoints', { token: op, body: {} })).status).toBe(403);
  });

  it('makes a checkpoint of each ledger whose tree grew every CHECKPOINT_INTERVAL_SECONDS', async () => {
    const second = await startTestApp({ ...QUICK, CHECKPOINT_INTERVAL_SECONDS: '1' }, t.databaseUrl);
    try {
      const ledger = (await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `tick-${Date.now()}` } }))
        .body;
      await someTransfers(t, op, 1, ledger.id);
      let made: any[] = [];
      for (let i = 0; i < 50 && made.length === 0; i += 1) {
        await sleep(200);
        made = (await t.request('GET', `/v1/audit/checkpoints?ledgerId=${ledger.id}`, { token: auditor })).body.data;
      }
      expect(made).toHaveLength(1);
      expect(made[0]).toMatchObject({ treeSize: 2 });
      // Nothing grew: no second one.
      await sleep(1500);
      expect(
        (await t.request('GET', `/v1/audit/checkpoints?ledgerId=${ledger.id}`, { token: auditor })).body.data,
      ).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('finds the stored trees and checkpoints sound', async () => {
    await checkpoint(t, auditor);
    const v = await t.request('GET', '/v1/audit/verify', { token: auditor });
    expect(v.body).toMatchObject({ ok: true, problems: [] });
  });
});

/** Runs `ledger-verify` in-process; its exit status and what it printed (JSON with --json). */
async function runVerifier(args: string[]): Promise<{ status: number; out: any; err: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  let [out, err] = ['', ''];
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const status = await ledgerVerify([...args, '--json'], { stdout, stderr, tty: false });
  return { status, out: out === '' ? undefined : JSON.parse(out), err };
}

describe('tampering behind the service', () => {
  let t: TestApp;
  let op: string;
  let auditor: string;

  beforeAll(async () => {
    t = await startTestApp(QUICK);
    ({ operator: op, auditor } = await tokensByRole(t));
  });
  afterAll(() => t.close());

  it('is named by the tree check, by proofs, and by a checkpoint kept from before, even with the chain recomputed', async () => {
    const admin = await adminToken(t);
    const ledgerId = (await t.request('GET', '/v1/ledgers/default', { token: admin })).body.id;
    const bob = await someTransfers(t, op, 6);
    await someTransfers(t, op, 3);
    const kept = await checkpoint(t, auditor);
    const before = await journal(t, auditor, ledgerId);
    const bobs = before.filter((e) => e.accountId === bob.id);
    expect(bobs).toHaveLength(6);

    // The auditor keeps the checkpoint and the verifier key, and checks both ways while all is well.
    const dir = await mkdtemp(join(tmpdir(), 'ledger-verify-'));
    const keptFile = join(dir, 'kept.json');
    await writeFile(keptFile, JSON.stringify(kept));
    const vkey = (await t.request('GET', '/v1/audit/checkpoints/keys', { token: auditor })).body.keys[0].vkey;
    const exportTo = async (name: string): Promise<string> => {
      const file = join(dir, name);
      await writeFile(file, (await t.request('GET', '/v1/ledger/export?format=ndjson', { token: auditor })).text);
      return file;
    };
    const offline = async (file: string) => runVerifier(['--export', file, '--checkpoint', keptFile, '--key', vkey]);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const online = () =>
      runVerifier(['--url', url, '--token', auditor, '--since', keptFile, '--key', vkey, '--sample', '1000']);
    expect(await offline(await exportTo('before.ndjson'))).toMatchObject({ status: 0, out: { ok: true } });
    await someTransfers(t, op, 2);
    await checkpoint(t, auditor);
    expect(await online()).toMatchObject({ status: 0, out: { ok: true } });

    // As the database superuser, triggers off: re-date bob's second entry and recompute his chain from there,
    // so that every hash and link checks out again.
    const db = await connect(t.databaseUrl);
    try {
      await db.query(`SET session_replication_role = replica`);
      let prev = bobs[0].hash;
      for (const e of bobs.slice(1)) {
        const createdAt = e.accountVersion === 2 ? '2020-01-01T00:00:00.000Z' : e.createdAt;
        const hash = entryHash(prev, {
          ...e,
          amount: BigInt(e.amount),
          balanceAfter: BigInt(e.balanceAfter),
          createdAt,
          effectiveAt: createdAt,
        });
        await db.query(`UPDATE ledger_entries SET created_at = $1, prev_hash = $2, hash = $3 WHERE id = $4`, [
          createdAt,
          prev,
          hash,
          e.id,
        ]);
        prev = hash;
      }
    } finally {
      await db.end();
    }

    // verify: the chains pass, the tree names bob's first altered version before anything else of his.
    const v = (await t.request('GET', '/v1/audit/verify', { token: auditor })).body;
    expect(v.ok).toBe(false);
    expect(v.problems.filter((p: any) => p.code !== 'TREE_MISMATCH')).toEqual([]);
    const first = v.problems.find((p: any) => p.accountId === bob.id);
    expect(first).toMatchObject({ code: 'TREE_MISMATCH', accountId: bob.id, accountVersion: 2, seq: bobs[1].seq });

    // A proof for the altered entry: the entry served no longer hashes to the leaf, so it does not verify.
    const proof = (await t.request('GET', `/v1/audit/proofs/inclusion?entryId=${bobs[1].id}`, { token: auditor })).body;
    const served = leafHash(hex(proof.entry.hash));
    expect(verifyInclusion(proof.leafIndex, proof.treeSize, served, proof.path.map(hex), hex(kept.rootHash))).toBe(
      false,
    );

    // The forger rebuilds the trees over the altered journal and has the service sign them again.
    const su = await connect(t.databaseUrl);
    try {
      await su.query(`SET session_replication_role = replica`);
      await su.query(`DELETE FROM merkle_tiles; DELETE FROM merkle_trees`);
      await su.query(`UPDATE merkle_progress SET last_seq = 0`);
    } finally {
      await su.end();
    }
    const forged = await checkpoint(t, auditor);
    expect(forged.treeSize).toBeGreaterThanOrEqual(kept.treeSize);

    // verify still names it: the checkpoints signed before no longer match the rebuilt tree.
    const v2 = (await t.request('GET', '/v1/audit/verify', { token: auditor })).body;
    expect(v2.problems).toContainEqual(
      expect.objectContaining({ code: 'TREE_MISMATCH', checkpointId: kept.id, ledgerId }),
    );
    // And an auditor holding the kept checkpoint: the new tree is not consistent with it.
    const c = (
      await t.request('GET', `/v1/audit/proofs/consistency?from=${kept.treeSize}&to=${forged.treeSize}`, {
        token: auditor,
      })
    ).body;
    expect(
      verifyConsistency(kept.treeSize, forged.treeSize, hex(kept.rootHash), hex(forged.rootHash), c.path.map(hex)),
    ).toBe(false);
    // ledger-verify names it both ways: the forged tree does not extend the kept checkpoint.
    expect((await online()).out).toMatchObject({ ok: false, problem: { kind: 'INCONSISTENT' } });
    expect(await offline(await exportTo('forged.ndjson'))).toMatchObject({
      status: 1,
      out: { problem: { checkpoint: { treeSize: kept.treeSize } } },
    });
    // Each of these is named too: a truncated journal, a reordered pair, a forged signature.
    const lines = before.map((e) => JSON.stringify(e));
    const truncated = join(dir, 'truncated.ndjson');
    await writeFile(truncated, lines.slice(0, kept.treeSize - 1).join('\n') + '\n');
    expect((await offline(truncated)).out.problem.kind).toBe('TRUNCATED');
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const reordered = join(dir, 'reordered.ndjson');
    await writeFile(reordered, swapped.join('\n') + '\n');
    expect((await offline(reordered)).out.problem).toMatchObject({ kind: 'SEQ_ORDER' });
    const sig = kept.note.length - 10;
    const forgedNote = kept.note.slice(0, sig) + (kept.note[sig] === 'A' ? 'B' : 'A') + kept.note.slice(sig + 1);
    const forgedFile = join(dir, 'forged-signature.json');
    await writeFile(forgedFile, JSON.stringify({ ...kept, note: forgedNote }));
    const cleanFile = join(dir, 'clean-before.ndjson');
    await writeFile(cleanFile, lines.join('\n') + '\n');
    const bad = await runVerifier(['--export', cleanFile, '--checkpoint', forgedFile, '--key', vkey]);
    expect(bad).toMatchObject({ status: 1, out: { problem: { kind: 'SIGNATURE' } } });
  });
});

describe('trees of several ledgers growing together', () => {
  it('keep each ledger’s own leaves across tile boundaries, whatever the ticks took in at a time', async () => {
    const t = await startTestApp({ TREE_INTERVAL_MS: '50' });
    try {
      const { operator: op, auditor, admin } = await tokensByRole(t);
      const books = await Promise.all(
        [1, 2, 3].map(async (i) => {
          const ledger = (
            await t.request('POST', '/v1/ledgers', { token: admin, body: { name: `tiles-${i}-${Date.now()}` } })
          ).body;
          const funding = await fundingSource(t, op, 'USD', ledger.id);
          const account = await createAccount(t, op, { ledgerId: ledger.id });
          return { ledger, funding, account };
        }),
      );
      // About 300 transfers per ledger, interleaved, so that each tick takes in entries of all three and each
      // ledger crosses its first 256-leaf tile at a different moment.
      for (let round = 0; round < 150; round += 1) {
        await Promise.all(
          books.map(async (b, i) => {
            for (let k = 0; k <= i; k += 1) await b.funding.fund(b.account.id, String(1 + round + k));
          }),
        );
      }
      for (const b of books) {
        const cp = await checkpoint(t, auditor, b.ledger.id);
        const entries = await journal(t, auditor, b.ledger.id);
        expect(cp.treeSize).toBe(entries.length);
        expect(cp.rootHash).toBe(rootOf(entries).toString('hex'));
        // A proof for a leaf in the first tile, at a tile boundary, and the last.
        for (const e of [entries[5], entries[256], entries[entries.length - 1]]) {
          const proof = (await t.request('GET', `/v1/audit/proofs/inclusion?entryId=${e.id}`, { token: auditor })).body;
          expect(
            verifyInclusion(proof.leafIndex, cp.treeSize, leafHash(hex(e.hash)), proof.path.map(hex), hex(cp.rootHash)),
          ).toBe(true);
        }
      }
      const v = await t.request('GET', '/v1/audit/verify', { token: auditor });
      expect(v.body).toMatchObject({ ok: true, problems: [] });
    } finally {
      await t.close();
    }
  });
});

describe('checkpoints under concurrent writers on two instances', () => {
  it('are all consistent with each other and with the final tree', async () => {
    const a = await startTestApp(QUICK);
    const b = await startTestApp(QUICK, a.databaseUrl);
    try {
      const { operator: op, auditor } = await tokensByRole(a);
      const admin = await adminToken(a);
      const ledgerId = (await a.request('GET', '/v1/ledgers/default', { token: admin })).body.id;
      const funding = await fundingSource(a, op);
      const accounts = await Promise.all([1, 2, 3, 4].map(() => createAccount(a, op)));
      let writing = true;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        const app = w % 2 === 0 ? a : b;
        let n = 0;
        while (writing) {
          const res = await transfer(app, op, {
            debitAccountId: funding.source.id,
            creditAccountId: accounts[(w + n) % 4].id,
            amount: String(1 + n),
          });
          expect(res.status).toBe(201);
          n += 1;
        }
      });
      const taken: any[] = [];
      for (let i = 0; i < 12; i += 1) {
        taken.push(await checkpoint(i % 2 === 0 ? a : b, auditor));
        await sleep(100);
      }
      writing = false;
      await Promise.all(writers);
      const last = await checkpoint(b, auditor);
      const entries = await journal(a, auditor, ledgerId);
      expect(last.treeSize).toBe(entries.length);
      const all = [...taken, last].sort((x, y) => x.treeSize - y.treeSize);
      expect(new Set(all.map((c) => c.treeSize)).size).toBeGreaterThan(3);
      for (const cp of all) expect(cp.rootHash).toBe(rootOf(entries, cp.treeSize).toString('hex'));
      for (let i = 1; i < all.length; i += 1) {
        const [older, newer] = [all[i - 1], all[i]];
        const res = await a.request('GET', `/v1/audit/proofs/consistency?from=${older.treeSize}&to=${newer.treeSize}`, {
          token: auditor,
        });
        expect(
          verifyConsistency(
            older.treeSize,
            newer.treeSize,
            hex(older.rootHash),
            hex(newer.rootHash),
            res.body.path.map(hex),
          ),
        ).toBe(true);
      }
      const v = await a.request('GET', '/v1/audit/verify', { token: auditor });
      expect(v.body).toMatchObject({ ok: true, problems: [] });
    } finally {
      await b.close();
      await a.close();
    }
  });
});
