import { FakeTx } from '../../test/support/fake-tx.js';
import { GENESIS_HASH, type LogAction, recordHash } from '../admin-log/admin-log-chain.js';
import { LedgerError } from '../core/errors.js';
import { LedgerScope } from '../core/ledger-scope.js';
import { type BulkUseCase, type GroupUnit, runGroup, type UseCase } from './group.js';
import type { NewOutcome, Outcome } from './idempotency.js';
import type { WriteRequest } from './write-request.js';

const USER = '6f1c0b1e-9a57-4f5e-8d1c-2a3b4c5d6e7f';
const request = (key: string | undefined, requestHash = 'h', requestId = 'r1'): WriteRequest => ({
  userId: USER,
  actor: { type: 'user', id: USER, name: 'tester' },
  scope: LedgerScope.ALL,
  key,
  requestHash,
  requestId,
});
const single = <T>(w: WriteRequest, run: UseCase<T>): GroupUnit => ({ request: w, work: { run } });
const counting = <T>(value: T) => {
  const calls = { n: 0 };
  const run: UseCase<T> = () => {
    calls.n++;
    return Promise.resolve(value);
  };
  return { calls, run };
};
const refusing =
  (error: LedgerError): UseCase<never> =>
  () =>
    Promise.reject(error);

/** Runs a group as the entrance does; returns the outcomes in unit order and whom a failure was blamed on. */
async function run(tx: FakeTx, units: GroupUnit[]): Promise<{ outcomes: Outcome[]; blamed: readonly GroupUnit[] }> {
  let blamed: readonly GroupUnit[] = [];
  const out = await runGroup(tx, units, (c) => (blamed = c));
  return { outcomes: units.map((u) => out.get(u)!), blamed };
}

/** The outcomes a group stored under keys, decoded from the INSERT's parameter arrays. */
function storedKeys(tx: FakeTx): { key: string; response: unknown; refusal: unknown }[] {
  return tx.statements('INSERT INTO idempotency_keys').flatMap((s) => {
    const [, keys, , responses, refusals] = s.values as [
      string[],
      string[],
      string[],
      (string | null)[],
      (string | null)[],
    ];
    return keys.map((key, i) => ({
      key,
      response: responses[i] === null ? null : JSON.parse(responses[i]!),
      refusal: refusals[i] === null ? null : JSON.parse(refusals[i]!),
    }));
  });
}

describe('runGroup: idempotency, in one place', () => {
  it('runs an unkeyed write without looking up or storing any key', async () => {
    const tx = new FakeTx();
    const { calls, run: work } = counting({ id: 1 });
    const { outcomes } = await run(tx, [single(request(undefined), work)]);
    expect(outcomes).toEqual([{ value: { id: 1 }, replayed: false }]);
    expect(calls.n).toBe(1);
    expect(tx.statements('SELECT')).toEqual([]);
    expect(storedKeys(tx)).toEqual([]);
  });

  it('looks up every key of the group in one statement and stores each fresh outcome in the same transaction', async () => {
    const tx = new FakeTx();
    const { outcomes } = await run(tx, [
      single(request('a'), counting('A').run),
      single(request('b'), counting('B').run),
    ]);
    expect(outcomes.map((o) => ('value' in o ? o.value : o))).toEqual(['A', 'B']);
    expect(tx.statements('SELECT')).toHaveLength(1);
    expect(tx.statements('SELECT')[0]!.values).toEqual([
      [USER, USER],
      ['a', 'b'],
    ]);
    expect(storedKeys(tx)).toEqual([
      { key: 'a', response: 'A', refusal: null },
      { key: 'b', response: 'B', refusal: null },
    ]);
  });

  it('replays a stored result without running the write again', async () => {
    const tx = new FakeTx([{ user_id: USER, key: 'a', request_hash: 'h', response: { id: 7 }, refusal: null }]);
    const { calls, run: work } = counting({ id: 8 });
    const { outcomes } = await run(tx, [single(request('a'), work)]);
    expect(outcomes).toEqual([{ value: { id: 7 }, replayed: true }]);
    expect(calls.n).toBe(0);
    expect(storedKeys(tx)).toEqual([]);
  });

  it('replays a stored refusal as the domain error it was, under the id of the request refused', async () => {
    const refusal = { code: 'INSUFFICIENT_FUNDS', detail: 'account x has 1 available', requestId: 'first', index: 2 };
    const tx = new FakeTx([{ user_id: USER, key: 'a', request_hash: 'h', response: null, refusal }]);
    const { outcomes } = await run(tx, [single(request('a', 'h', 'second'), counting(1).run)]);
    const [outcome] = outcomes;
    expect(outcome).toMatchObject({ requestId: 'first', replayed: true });
    const error = (outcome as { refusal: LedgerError }).refusal;
    expect(error).toBeInstanceOf(LedgerError);
    expect([error.code, error.message, error.index]).toEqual(['INSUFFICIENT_FUNDS', 'account x has 1 available', 2]);
  });

  it('refuses a stored key reused for another request, running nothing and storing nothing', async () => {
    const tx = new FakeTx([{ user_id: USER, key: 'a', request_hash: 'other', response: 1, refusal: null }]);
    const { calls, run: work } = counting(2);
    const { outcomes } = await run(tx, [single(request('a', 'h', 'now'), work)]);
    expect(outcomes[0]).toMatchObject({ requestId: 'now', replayed: false });
    expect((outcomes[0] as { refusal: LedgerError }).refusal.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(calls.n).toBe(0);
    expect(storedKeys(tx)).toEqual([]);
  });

  it('answers a key used twice in one group once: the same request replays, another is refused', async () => {
    const tx = new FakeTx();
    const first = counting('once');
    const second = counting('twice');
    const third = counting('thrice');
    const { outcomes } = await run(tx, [
      single(request('k', 'h'), first.run),
      single(request('k', 'h'), second.run),
      single(request('k', 'other'), third.run),
    ]);
    // Rendered once, to be stored: the answer sends that text, and the replay in the group the same.
    expect(outcomes[0]).toEqual({ value: 'once', replayed: false, json: '"once"' });
    expect(outcomes[1]).toEqual({ value: 'once', replayed: true, json: '"once"' });
    expect((outcomes[2] as { refusal: LedgerError }).refusal.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect([first.calls.n, second.calls.n, third.calls.n]).toEqual([1, 0, 0]);
    expect(storedKeys(tx)).toEqual([{ key: 'k', response: 'once', refusal: null }]);
  });

  it('rolls a refused write back to its savepoint and stores the refusal as a domain outcome', async () => {
    const tx = new FakeTx();
    const { outcomes } = await run(tx, [
      single(request('a', 'h', 'req-a'), refusing(new LedgerError('TRANSFER_NOT_PENDING', 'transfer t is posted'))),
      single(request(undefined), counting('ok').run),
    ]);
    expect((outcomes[0] as { refusal: LedgerError }).refusal.code).toBe('TRANSFER_NOT_PENDING');
    expect(outcomes[1]).toEqual({ value: 'ok', replayed: false });
    expect(tx.sent.map((s) => s.text.split(' ')[0] + (s.text.includes('TO SAVEPOINT') ? ' TO' : ''))).toEqual([
      'SELECT',
      'SAVEPOINT',
      'ROLLBACK TO',
      'SAVEPOINT',
      'RELEASE',
      'INSERT',
    ]);
    expect(storedKeys(tx)).toEqual([
      {
        key: 'a',
        response: null,
        refusal: { code: 'TRANSFER_NOT_PENDING', detail: 'transfer t is posted', requestId: 'req-a' },
      },
    ]);
  });

  it('blames a write that fails for another reason than a refusal on that write alone', async () => {
    const tx = new FakeTx();
    const broken = single(request(undefined), () => Promise.reject(new Error('a bug')));
    let blamed: readonly GroupUnit[] = [];
    await expect(
      runGroup(tx, [single(request(undefined), counting(1).run), broken], (c) => (blamed = c)),
    ).rejects.toThrow('a bug');
    expect(blamed).toEqual([broken]);
  });
});

describe('runGroup: bulk use cases', () => {
  /** A bulk use case over numbers: 13 is refused; it writes every `every` decided inputs and at the end. */
  function numbers(every: number) {
    const log = { reads: [] as number[][], writes: [] as { inputs: number[]; keys: string[] }[] };
    const bulk: BulkUseCase<number, { decided: number[] }> = {
      read: (_tx, inputs) => {
        log.reads.push([...inputs]);
        return Promise.resolve({ decided: [] });
      },
      decide: (state, input) => {
        if (input === 13) throw new LedgerError('SAME_ACCOUNT', `refused ${input}`);
        state.decided.push(input);
        return input * 10;
      },
      write: (_tx, state, keys: NewOutcome[], final) => {
        if (!final && state.decided.length < every) return;
        log.writes.push({ inputs: state.decided.splice(0), keys: keys.splice(0).map((k) => k.key) });
      },
      events: (result) => [{ type: 'transfer.created', ledgerId: 'L', data: result }],
    };
    const unit = (input: number, key?: string): GroupUnit => ({
      request: request(key, `h${input}`),
      work: { bulk: bulk, input, weight: 1 },
    });
    return { log, unit };
  }

  it('reads once for the whole group, decides in order, refuses one alone, and writes every few and at the end', async () => {
    const { log, unit } = numbers(2);
    const tx = new FakeTx();
    const units = [unit(1, 'k1'), unit(13, 'k13'), unit(2), unit(3, 'k3')];
    const { outcomes, blamed } = await run(tx, units);
    expect(log.reads).toEqual([[1, 13, 2, 3]]);
    expect(outcomes.map((o) => ('value' in o ? o.value : o.refusal.code))).toEqual([10, 'SAME_ACCOUNT', 20, 30]);
    // The refusal's key is stored with the write that follows it, so a retry gets the same refusal.
    expect(log.writes).toEqual([
      { inputs: [1, 2], keys: ['k1', 'k13'] },
      { inputs: [3], keys: ['k3'] },
    ]);
    // Pipelined writes fail at COMMIT when nothing follows: the bulk's members are to blame.
    expect(blamed).toEqual(units);
  });

  it('appends one event per kept result and per emitted or logged change, none for refusals or replays (SPEC 13)', async () => {
    const { unit } = numbers(100);
    const tx = new FakeTx([{ user_id: USER, key: 'k4', request_hash: 'h4', response: 40, refusal: null }]);
    const emitting: UseCase<string> = (_tx, log, emit) => {
      emit({ type: 'transfer.posted', ledgerId: 'L', data: 'posted' });
      log({ action: 'account.updated', resourceId: 'a', ledgerId: 'L', before: 'x', after: 'y' });
      log({ action: 'user.updated', resourceId: 'u', ledgerId: null, before: 'x', after: 'y' });
      return Promise.resolve('ok');
    };
    const refusing: UseCase<string> = (_tx, _log, emit) => {
      emit({ type: 'transfer.voided', ledgerId: 'L', data: 'never' });
      return Promise.reject(new LedgerError('TRANSFER_NOT_PENDING', 'no'));
    };
    const units: GroupUnit[] = [
      unit(1),
      unit(13),
      unit(4, 'k4'),
      unit(2),
      { request: request(undefined), work: { run: emitting, logged: true } },
      { request: request(undefined), work: { run: refusing } },
    ];
    await run(tx, units);
    const [insert, ...more] = tx.statements('WITH woken');
    expect(more).toEqual([]);
    expect(JSON.parse(insert!.values[0] as string)).toEqual([
      { type: 'transfer.created', ledgerId: 'L', data: 10 },
      { type: 'transfer.created', ledgerId: 'L', data: 20 },
      { type: 'account.updated', ledgerId: 'L', data: 'y' },
      { type: 'transfer.posted', ledgerId: 'L', data: 'posted' },
    ]);
  });

  it('replays a bulk input whose key was stored, without deciding it', async () => {
    const { log, unit } = numbers(100);
    const tx = new FakeTx([{ user_id: USER, key: 'k1', request_hash: 'h1', response: 10, refusal: null }]);
    const { outcomes } = await run(tx, [unit(1, 'k1'), unit(2, 'k2')]);
    expect(outcomes).toEqual([
      { value: 10, replayed: true },
      { value: 20, replayed: false, json: '20' },
    ]);
    expect(log.writes).toEqual([{ inputs: [2], keys: ['k2'] }]);
  });

  it('runs the bulk before the single writes of its group and blames nothing once those have run', async () => {
    const { log, unit } = numbers(100);
    const tx = new FakeTx();
    const { outcomes, blamed } = await run(tx, [single(request(undefined), counting('s').run), unit(4)]);
    expect(outcomes).toEqual([
      { value: 's', replayed: false },
      { value: 40, replayed: false },
    ]);
    expect(log.writes).toEqual([{ inputs: [4], keys: [] }]);
    expect(blamed).toEqual([]);
  });
});

describe('runGroup: the administrative log, in one place', () => {
  const logging =
    (action: LogAction, id: string, refusal?: LedgerError): UseCase<string> =>
    (_tx, log) => {
      log({ action, resourceId: id, ledgerId: null, before: null, after: { id } });
      return refusal === undefined ? Promise.resolve(id) : Promise.reject(refusal);
    };
  const logged = (w: WriteRequest, run: UseCase<string>): GroupUnit => ({ request: w, work: { run, logged: true } });

  it('appends the changes of the units that commit, with their actors and request ids, chained, after them', async () => {
    const tx = new FakeTx();
    const key = { ...request(undefined, 'h', 'req-b'), actor: { type: 'apiKey' as const, id: 'k1', name: 'svc' } };
    await run(tx, [
      logged(request(undefined, 'h', 'req-a'), logging('ledger.created', 'A')),
      logged(key, logging('ledger.created', 'B', new LedgerError('DUPLICATE_LEDGER_NAME', 'taken'))),
      logged(key, logging('account.updated', 'C')),
    ]);
    const inserts = tx.statements('INSERT INTO admin_log');
    expect(inserts).toHaveLength(1);
    // After every unit's savepoint is released: a record is only ever written beside the change it records.
    const lastRelease = tx.sent.map((s) => s.text).lastIndexOf('RELEASE SAVEPOINT unit');
    expect(tx.sent.indexOf(inserts[0]!)).toBeGreaterThan(lastRelease);
    const [seqs, ids, ats, actors, actions, types, resources, ledgers, befores, afters, requestIds, prevs, hashes] =
      inserts[0]!.values as string[][];
    expect([seqs, actions, types, resources, requestIds]).toEqual([
      ['1', '2'],
      ['ledger.created', 'account.updated'],
      ['ledger', 'account'],
      ['A', 'C'],
      ['req-a', 'req-b'],
    ]);
    expect(actors!.map((a) => JSON.parse(a))).toEqual([request(undefined).actor, key.actor]);
    // Each hash is the RFC 8785 one over the record as the API will show it, and links to the one before.
    expect(prevs).toEqual([GENESIS_HASH, hashes![0]]);
    seqs!.forEach((seq, i) => {
      const body = {
        id: ids![i]!,
        seq,
        at: ats![i]!,
        actor: JSON.parse(actors![i]!),
        action: actions![i]!,
        resourceType: types![i]!,
        resourceId: resources![i]!,
        ledgerId: ledgers![i] ?? null,
        before: befores![i] === null ? null : JSON.parse(befores![i]!),
        after: JSON.parse(afters![i]!),
        requestId: requestIds![i]!,
      };
      expect(hashes![i]).toBe(recordHash(prevs![i]!, body));
    });
  });

  it('treats a change reported by a write not marked as logged as a bug of that unit', async () => {
    const tx = new FakeTx();
    const unmarked = single(request(undefined), logging('user.updated', 'U'));
    let blamed: readonly GroupUnit[] = [];
    await expect(runGroup(tx, [unmarked], (c) => (blamed = c))).rejects.toThrow(/not a logged write/);
    expect(blamed).toEqual([unmarked]);
    expect(tx.statements('INSERT INTO admin_log')).toEqual([]);
  });
});
