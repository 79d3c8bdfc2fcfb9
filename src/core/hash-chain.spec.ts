import { createHash } from 'node:crypto';
import { ZERO_COUNTERS, postedBalance, type AccountState } from './balances.js';
import { LedgerError } from './errors.js';
import { GENESIS_HASH, entryDates, entryHash, nextEntry, verifyChain, type EntryFields } from './hash-chain.js';
import { INT64_MAX } from './money.js';

type StoredEntry = EntryFields & { prevHash: string; hash: string };

/** A movement recorded at `t` and dated then. */
const on = (t: string) => entryDates(new Date(t), null);
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const ZEROS = '0000000000000000000000000000000000000000000000000000000000000000';

// Fixed vectors, also checked with `printf '%s\n%s' … | sha256sum` outside Node.
const LINE1 = 'acc|1|tr|debit|100|USD|-100|2026-11-21T08:15:58.123Z';
const HASH1 = '87f880fb153609a27f82e9662c5909a7daacfdc5a703e85035db478b1fd006d0';
const LINE2 = 'acc|2|tr2|credit|9007199254740993|USD|9007199254740893|2026-11-21T08:15:59.000Z';
const HASH2 = 'b0660a7fc7d691536382b082e2265859de8d844a0c3465b2008d73ab7274fa63';

const fields1: EntryFields = {
  accountId: 'acc',
  accountVersion: 1,
  transferId: 'tr',
  direction: 'debit',
  amount: 100n,
  currency: 'USD',
  balanceAfter: -100n,
  createdAt: '2026-11-21T08:15:58.123Z',
};

function account(p: Partial<AccountState> = {}): AccountState {
  return {
    ledgerId: 'L',
    id: 'acc',
    currency: 'USD',
    normalBalance: 'credit',
    allowNegative: true,
    status: 'active',
    counters: ZERO_COUNTERS,
    ...p,
  };
}

/** Builds a valid chain of n alternating entries on one account through nextEntry. */
function buildChain(n: number): StoredEntry[] {
  let acc = account();
  let head = { version: 0, lastHash: GENESIS_HASH };
  const out: StoredEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = nextEntry(
      acc,
      head,
      `tr${i}`,
      i % 2 === 0 ? 'credit' : 'debit',
      BigInt(10 + i),
      on(`2026-11-21T08:15:5${i}.000Z`),
    );
    out.push({ ...e.fields, prevHash: e.prevHash, hash: e.hash });
    acc = { ...acc, counters: e.counters };
    head = { version: e.fields.accountVersion, lastHash: e.hash };
  }
  return out;
}

describe('GENESIS_HASH', () => {
  it('is 64 zeros', () => {
    expect(GENESIS_HASH).toBe(ZEROS);
  });
});

describe('entryHash', () => {
  it('matches a hand-written vector', () => {
    expect(sha256(ZEROS + '\n' + LINE1)).toBe(HASH1);
    expect(entryHash(GENESIS_HASH, fields1)).toBe(HASH1);
  });

  it('appends effectiveAt only for a backdated entry (SPEC 12): one dated when written hashes as before', () => {
    expect(entryHash(GENESIS_HASH, { ...fields1, effectiveAt: fields1.createdAt })).toBe(HASH1);
    const backdated = { ...fields1, effectiveAt: '2026-10-31T23:59:59.999Z' };
    expect(entryHash(GENESIS_HASH, backdated)).toBe(sha256(`${ZEROS}\n${LINE1}|2026-10-31T23:59:59.999Z`));
    expect(entryHash(GENESIS_HASH, backdated)).not.toBe(HASH1);
  });

  it('chains: the second entry hashes over the first hash', () => {
    const fields2: EntryFields = {
      accountId: 'acc',
      accountVersion: 2,
      transferId: 'tr2',
      direction: 'credit',
      amount: 9007199254740993n,
      currency: 'USD',
      balanceAfter: 9007199254740893n,
      createdAt: '2026-11-21T08:15:59.000Z',
    };
    expect(sha256(HASH1 + '\n' + LINE2)).toBe(HASH2);
    expect(entryHash(HASH1, fields2)).toBe(HASH2);
  });

  it('is lowercase hex of 64 chars', () => {
    expect(entryHash(GENESIS_HASH, fields1)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes extreme money values as full decimal strings', () => {
    const f = { ...fields1, amount: INT64_MAX, balanceAfter: -INT64_MAX - 1n };
    expect(entryHash(GENESIS_HASH, f)).toBe(
      sha256(`${ZEROS}\nacc|1|tr|debit|9223372036854775807|USD|-9223372036854775808|2026-11-21T08:15:58.123Z`),
    );
  });

  it('encodes the string as UTF-8', () => {
    const f = { ...fields1, transferId: 'tré€' };
    const expected = createHash('sha256')
      .update(Buffer.from(`${ZEROS}\nacc|1|tré€|debit|100|USD|-100|2026-11-21T08:15:58.123Z`, 'utf8'))
      .digest('hex');
    expect(entryHash(GENESIS_HASH, f)).toBe(expected);
  });

  it.each<[keyof EntryFields, EntryFields[keyof EntryFields]]>([
    ['accountId', 'acc2'],
    ['accountVersion', 2],
    ['transferId', 'tr2'],
    ['direction', 'credit'],
    ['amount', 101n],
    ['currency', 'EUR'],
    ['balanceAfter', 100n],
    ['createdAt', '2026-11-21T08:15:58.124Z'],
  ])('changes when %s changes', (key, value) => {
    expect(entryHash(GENESIS_HASH, { ...fields1, [key]: value })).not.toBe(HASH1);
  });

  it('changes when prevHash changes', () => {
    expect(entryHash(HASH1, fields1)).not.toBe(HASH1);
  });
});

describe('nextEntry', () => {
  it('builds the first entry of a credit-normal account from genesis', () => {
    const e = nextEntry(
      account(),
      { version: 0, lastHash: GENESIS_HASH },
      'tr',
      'debit',
      100n,
      on('2026-11-21T08:15:58.123Z'),
    );
    expect(e.fields).toEqual(fields1);
    expect(e.prevHash).toBe(GENESIS_HASH);
    expect(e.hash).toBe(HASH1);
    expect(e.counters).toEqual({ ...ZERO_COUNTERS, debitsPosted: 100n });
  });

  it('builds the second entry on top of the head, exact beyond 2^53', () => {
    const acc = account({ counters: { ...ZERO_COUNTERS, debitsPosted: 100n } });
    const e = nextEntry(
      acc,
      { version: 1, lastHash: HASH1 },
      'tr2',
      'credit',
      2n ** 53n + 1n,
      on('2026-11-21T08:15:59.000Z'),
    );
    expect(e.fields.accountVersion).toBe(2);
    expect(e.fields.balanceAfter).toBe(9007199254740893n);
    expect(e.prevHash).toBe(HASH1);
    expect(e.hash).toBe(HASH2);
  });

  it('balanceAfter is the normal-side posted balance for a debit-normal account', () => {
    const acc = account({ normalBalance: 'debit', counters: { ...ZERO_COUNTERS, debitsPosted: 50n } });
    const e = nextEntry(acc, { version: 3, lastHash: HASH1 }, 't', 'credit', 80n, on('2026-01-01T00:00:00.000Z'));
    expect(e.fields.balanceAfter).toBe(-30n);
    expect(e.fields.balanceAfter).toBe(postedBalance('debit', e.counters));
    expect(e.fields.accountVersion).toBe(4);
    expect(e.fields.currency).toBe('USD');
  });

  it('applies funds and overflow checks', () => {
    const strict = account({ allowNegative: false, counters: { ...ZERO_COUNTERS, creditsPosted: 10n } });
    const head = { version: 1, lastHash: HASH1 };
    expect(() => nextEntry(strict, head, 't', 'debit', 11n, on('2026-01-01T00:00:00.000Z'))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_FUNDS' }) as LedgerError,
    );
    const full = account({ counters: { ...ZERO_COUNTERS, creditsPosted: INT64_MAX } });
    expect(() => nextEntry(full, head, 't', 'credit', 1n, on('2026-01-01T00:00:00.000Z'))).toThrow(
      expect.objectContaining({ code: 'BALANCE_OVERFLOW' }) as LedgerError,
    );
  });

  it('does not mutate the account', () => {
    const acc = account();
    nextEntry(acc, { version: 0, lastHash: GENESIS_HASH }, 'tr', 'debit', 100n, on('2026-11-21T08:15:58.123Z'));
    expect(acc.counters).toBe(ZERO_COUNTERS);
  });
});

describe('entryDates', () => {
  const at = new Date('2026-12-04T10:00:00.000Z');

  it('dates a movement when it is recorded unless told otherwise', () => {
    expect(entryDates(at, null)).toEqual({ createdAt: at.toISOString(), effectiveAt: at.toISOString() });
    const earlier = new Date('2026-11-30T12:00:00.000Z');
    expect(entryDates(at, earlier)).toEqual({ createdAt: at.toISOString(), effectiveAt: earlier.toISOString() });
  });

  it('never dates an entry after it is recorded', () => {
    expect(entryDates(at, new Date(at.getTime() + 5)).effectiveAt).toBe(at.toISOString());
  });

  it('carries a backdated date into the entry, and into its hash', () => {
    const e = nextEntry(account(), { version: 0, lastHash: GENESIS_HASH }, 'tr', 'debit', 100n, {
      createdAt: fields1.createdAt,
      effectiveAt: '2026-10-31T23:59:59.999Z',
    });
    expect(e.fields.effectiveAt).toBe('2026-10-31T23:59:59.999Z');
    expect(e.hash).toBe(sha256(`${ZEROS}\n${LINE1}|2026-10-31T23:59:59.999Z`));
    const undated = nextEntry(
      account(),
      { version: 0, lastHash: GENESIS_HASH },
      'tr',
      'debit',
      100n,
      on(fields1.createdAt),
    );
    expect('effectiveAt' in undated.fields).toBe(false);
  });
});

describe('verifyChain', () => {
  it('accepts an empty chain and a valid chain', () => {
    expect(verifyChain([])).toEqual([]);
    const chain = buildChain(5);
    expect(chain.map((e) => e.accountVersion)).toEqual([1, 2, 3, 4, 5]);
    expect(chain[0]?.prevHash).toBe(GENESIS_HASH);
    expect(verifyChain(chain)).toEqual([]);
  });

  it('accepts the hand-written vectors', () => {
    const e1: StoredEntry = { ...fields1, prevHash: GENESIS_HASH, hash: HASH1 };
    const e2: StoredEntry = {
      accountId: 'acc',
      accountVersion: 2,
      transferId: 'tr2',
      direction: 'credit',
      amount: 9007199254740993n,
      currency: 'USD',
      balanceAfter: 9007199254740893n,
      createdAt: '2026-11-21T08:15:59.000Z',
      prevHash: HASH1,
      hash: HASH2,
    };
    expect(verifyChain([e1, e2])).toEqual([]);
  });

  it('detects a changed amount', () => {
    const chain = buildChain(3);
    const tampered = chain.map((e) => (e.accountVersion === 2 ? { ...e, amount: e.amount + 1n } : e));
    const problems = verifyChain(tampered);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'HASH_MISMATCH', accountVersion: 2 });
  });

  it('detects a changed amount even when that entry hash is recomputed (next link breaks)', () => {
    const chain = buildChain(3);
    const tampered = chain.map((e) => {
      if (e.accountVersion !== 2) return e;
      const changed = { ...e, amount: 999n };
      return { ...changed, hash: entryHash(changed.prevHash, changed) };
    });
    expect(verifyChain(tampered)).toEqual([expect.objectContaining({ code: 'HASH_MISMATCH', accountVersion: 3 })]);
  });

  it('detects a changed prevHash', () => {
    const chain = buildChain(2);
    const tampered = [chain[0]!, { ...chain[1]!, prevHash: GENESIS_HASH }];
    const codes = verifyChain(tampered).map((p) => [p.code, p.accountVersion]);
    expect(codes).toEqual([
      ['HASH_MISMATCH', 2],
      ['HASH_MISMATCH', 2],
    ]);
  });

  it('detects a missing version', () => {
    const chain = buildChain(4);
    const problems = verifyChain(chain.filter((e) => e.accountVersion !== 2));
    expect(problems).toContainEqual(expect.objectContaining({ code: 'VERSION_GAP', accountVersion: 3 }));
    expect(problems).toContainEqual(expect.objectContaining({ code: 'HASH_MISMATCH', accountVersion: 3 }));
    // Re-syncs after the gap: entry 4 links correctly to entry 3.
    expect(problems.filter((p) => p.accountVersion === 4)).toEqual([]);
    expect(problems.find((p) => p.code === 'VERSION_GAP')?.detail).toBe('expected version 2, found 3');
  });

  it('detects a missing first entry', () => {
    const chain = buildChain(2);
    expect(verifyChain(chain.slice(1)).map((p) => p.code)).toEqual(['VERSION_GAP', 'HASH_MISMATCH']);
  });

  it('cannot see a truncated tail on its own: a prefix of a valid chain is valid', () => {
    // A truncated tail is a valid prefix; the service compares the count with the account version.
    expect(verifyChain(buildChain(3).slice(0, 2))).toEqual([]);
  });

  it('detects a swapped order', () => {
    const [a, b, c] = buildChain(3);
    const problems = verifyChain([a!, c!, b!]);
    expect(problems.filter((p) => p.code === 'VERSION_GAP').map((p) => p.accountVersion)).toEqual([3, 2]);
    expect(problems.filter((p) => p.code === 'HASH_MISMATCH').length).toBeGreaterThan(0);
  });

  it('detects a duplicated version', () => {
    const [a, b] = buildChain(2);
    const problems = verifyChain([a!, b!, b!]);
    expect(problems).toContainEqual(expect.objectContaining({ code: 'VERSION_GAP', accountVersion: 2 }));
  });
});
