import { isISO8601 } from 'class-validator';
import fc from 'fast-check';

/**
 * Value-level generators for the bad-input fuzzer (test/fuzz.e2e-spec.ts, issue #7). Every `invalid*`
 * generator yields only values that SPEC.md makes invalid for that field, whatever else the request holds;
 * every `valid*` generator yields only valid (but hostile: SQL fragments, control characters, odd unicode)
 * values. No generator yields `undefined` (JSON.stringify would drop the key) and the `invalid*` generators
 * of optional fields never yield `null` (class-validator's @IsOptional reads null as "absent").
 */

export const INT64_MAX = 9223372036854775807n;
export const BODY_LIMIT_BYTES = 1024 * 1024;

// ---- the SPEC's formats, to classify generated values ----
export const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const CURRENCY = /^[A-Z][A-Z0-9_]{2,15}$/;
export const PRINTABLE_1_128 = /^[\x20-\x7e]{1,128}$/;
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;
export const USERNAME = /^[A-Za-z0-9._@-]{3,64}$/;
export const SEQ_CURSOR = /^(0|[1-9][0-9]{0,18})$/;
export const isSpecAmount = (v: unknown): boolean =>
  typeof v === 'string' && /^[1-9][0-9]{0,18}$/.test(v) && BigInt(v) <= INT64_MAX;
export const isStrictIso8601 = (s: string): boolean => isISO8601(s, { strict: true, strictSeparator: true });
/** The RFC 3339 profile of ISO 8601 that the service's own timestamps use (SPEC section 2). */
export const RFC3339ISH = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** encodeURIComponent that survives lone surrogates (which it would throw on). */
export function enc(s: string): string {
  return encodeURIComponent(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );
}

const charIn = (from: number, to: number): fc.Arbitrary<string> =>
  fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));

// ---- hostile strings ----
export const SQL_FRAGMENTS = [
  "' OR '1'='1",
  "'; DROP TABLE ledger_entries; --",
  '1; SELECT pg_sleep(5); --',
  '" OR ""="',
  "' UNION SELECT password_hash FROM users --",
  "') ON CONFLICT DO NOTHING; --",
  "1' AND (SELECT count(*) FROM accounts) > 0 --",
  "'; UPDATE accounts SET credits_posted = 1e18; --",
  '$1',
  '$$;$$',
  "E'\\x00'",
  "%' AND 1=1 --",
  "\\'; COMMIT; --",
  '::uuid',
  '/**/',
  '--',
  ';',
  "'",
  '"',
  '\\',
  '%',
  '_',
];
export const TRICKY = [
  '\u0000',
  'a\u0000b',
  '\u0007\u0008\u001b[31m',
  '\r\n',
  '\t',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\uffff',
  '\ufffd',
  '\u{1f600}',
  '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
  'e\u0301',
  '\u0130',
  '\u2028\u2029',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '%00',
  '%n%s',
  'NULL',
  'null',
  'undefined',
  'NaN',
  '[]',
  '{}',
];

/** Strings meant to break parsers, encoders and SQL: fragments, control characters, any unicode. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...SQL_FRAGMENTS, ...TRICKY),
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: charIn(0, 0x1f), minLength: 1, maxLength }),
    fc
      .array(fc.oneof(fc.constantFrom(...SQL_FRAGMENTS, ...TRICKY), fc.string({ unit: 'binary', maxLength: 6 })), {
        minLength: 2,
        maxLength: 5,
      })
      .map((parts) => parts.join('')),
  );

/** Printable ASCII only (externalId, Idempotency-Key), SQL fragments included. */
export const printableAscii = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...SQL_FRAGMENTS.filter((s) => s.length >= minLength && s.length <= maxLength)),
    fc.string({ unit: charIn(0x20, 0x7e), minLength, maxLength }),
  );

/** A BMP, non-surrogate string of exactly `n` UTF-16 units: "longer than the limit" whichever way one counts. */
export const overLong = (min: number, max: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min, max }), fc.constantFrom('x', 'é', "'", '\u0000', 'ab'))
    .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));

// ---- wrong types ----
export const notAString: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant([]),
  fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

// ---- valid values (hostile where free text is allowed) ----
export const validCurrency = fc.oneof(
  fc.constantFrom('USD', 'EUR', 'JPY', 'POINTS', 'X_1', 'A0_ZZZZZZZZZZZZZ'),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{2,15}$/),
);
export const validAmount = fc
  .oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: INT64_MAX }), fc.constant(INT64_MAX))
  .map(String);
export const amountAbove = (floor: bigint): fc.Arbitrary<string> =>
  fc
    .oneof(fc.bigInt({ min: floor + 1n, max: floor + 1000n }), fc.bigInt({ min: floor + 1n, max: INT64_MAX }))
    .map(String);
/**
 * Free text the ledger accepts: hostile, but without NUL, which PostgreSQL cannot store in text, so the
 * service refuses it with 400 at the edge (README) and the generators of invalid input send it.
 */
const PROTOTYPE_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export const freeText = (maxLength = 40): fc.Arbitrary<string> =>
  hostileString(maxLength).filter((s) => !s.includes('\u0000'));
export const validName = freeText(60).map((s) => s.slice(0, 200));
export const validDescription = freeText(120).map((s) => s.slice(0, 500));
export const validExternalId = printableAscii(1, 128);
export const validMetadata: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  freeText(20)
    .map((s) => s.slice(0, 64))
    // Keys named like Object.prototype members are refused (README): class-transformer would drop them.
    .filter((k) => k.length >= 1 && !PROTOTYPE_NAMES.has(k)),
  freeText(60).map((s) => s.slice(0, 512)),
  { maxKeys: 6 },
);
export const validIsoDate = fc
  .date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
export const unknownUuid = fc.uuid({ version: 4 });

// ---- invalid values, by field ----
export const invalidAmount: fc.Arbitrary<unknown> = fc
  .oneof(
    fc.constantFrom(
      '0',
      '00',
      '01',
      '007',
      '-1',
      '-0',
      '+1',
      ' 1',
      '1 ',
      '\t1',
      '1\n',
      '1.0',
      '1.5',
      '0.5',
      '.5',
      '1.',
      '1e3',
      '1E3',
      '1e+3',
      '0x10',
      '0b1',
      '0o7',
      '1_000',
      '1,000',
      '1 000',
      '\u0661\u0662\u0663',
      '\uff11\uff12\uff13',
      'Infinity',
      '-Infinity',
      'NaN',
      '',
      '9223372036854775808',
      '18446744073709551616',
      '-9223372036854775808',
      '99999999999999999999999999999',
      '1e400',
      '\u00bd',
    ),
    fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 40n }).map(String),
    fc.bigInt({ min: -(10n ** 20n), max: 0n }).map(String),
    fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.bigInt({ min: 1n, max: INT64_MAX }))
      .map(([zeros, b]) => '0'.repeat(zeros) + String(b)),
    fc
      .tuple(fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u2003', '+', '\u0000'), validAmount, fc.boolean())
      .map(([w, a, after]) => (after ? a + w : w + a)),
    fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 30 })).map(([m, e]) => `${m}e${e}`),
    fc
      .tuple(validAmount, fc.string({ unit: charIn(0x30, 0x39), minLength: 1, maxLength: 6 }))
      .map(([a, b]) => `${a}.${b}`),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.bigInt({ min: 1n, max: INT64_MAX }).map(Number),
    fc.constantFrom<unknown>(true, false, [], {}, ['1'], { value: '1' }),
    hostileString(),
  )
  .filter((v) => !isSpecAmount(v));

const uuidVariants: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'not-a-uuid',
    '00000000-0000-0000-0000-00000000000',
    '00000000-0000-0000-0000-0000000000000',
    'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
    '{6f1c0000-0000-4000-8000-000000000000}',
    'urn:uuid:6f1c0000-0000-4000-8000-000000000000',
    '6f1c0000000040008000000000000000',
    '0',
    '-1',
  ),
  unknownUuid.map((u) => `${u}a`),
  unknownUuid.map((u) => ` ${u}`),
  unknownUuid.map((u) => u.slice(1)),
  unknownUuid.map((u) => u.replace(/-/g, '')),
  unknownUuid.map((u) => `${u.slice(0, -1)}g`),
  unknownUuid.map((u) => `${u}'; --`),
  unknownUuid.map((u) => `${u}\u0000`),
  unknownUuid.map((u) => `${u},${u}`),
);
/** Strings that are not UUIDs (for paths). */
export const invalidUuidString: fc.Arbitrary<string> = fc
  .oneof(uuidVariants, hostileString())
  .filter((s) => s !== '' && !UUID_SHAPE.test(s));
/** Any JSON value that is not a UUID string (for bodies and queries). */
export const invalidUuid: fc.Arbitrary<unknown> = fc
  .oneof(uuidVariants, hostileString(), notAString)
  .filter((v) => !(typeof v === 'string' && UUID_SHAPE.test(v)));

export const invalidCurrency: fc.Arbitrary<unknown> = fc
  .oneof(
    fc.constantFrom(
      'usd',
      'US',
      'U',
      '',
      'USD ',
      ' USD',
      '1USD',
      '_USD',
      'ABCDEFGHIJKLMNOPQ',
      'U\u0160D',
      'USD\u0000',
      'Usd',
    ),
    hostileString(),
    notAString,
  )
  .filter((v) => !(typeof v === 'string' && CURRENCY.test(v)));
export const invalidExternalId: fc.Arbitrary<unknown> = fc
  .oneof(fc.constant(''), overLong(129, 400), hostileString(), notAString)
  .filter((v) => !(typeof v === 'string' && PRINTABLE_1_128.test(v)));
export const invalidName: fc.Arbitrary<unknown> = fc.oneof(overLong(201, 3000), notAString);
export const invalidDescription: fc.Arbitrary<unknown> = fc.oneof(overLong(501, 5000), notAString);
export const invalidMetadata: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>([], 'x', 1, true, [['k', 'v']]),
  fc
    .tuple(validMetadata, fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([m, k, v]) => ({
      ...m,
      [k]: typeof v === 'string' ? [v] : v,
    })),
  fc.integer({ min: 33, max: 300 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']))),
  fc.tuple(validMetadata, overLong(65, 300)).map(([m, k]) => ({ ...m, [k]: 'v' })),
  validMetadata.map((m) => ({ ...m, '': 'v' })),
  fc.tuple(validMetadata, overLong(513, 3000)).map(([m, v]) => ({ ...m, k: v })),
);
export const invalidBoolean: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(
  'true',
  'false',
  'TRUE',
  1,
  0,
  'yes',
  '',
  [],
  {},
  [true],
);
export const invalidTimeout: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 604801, 1e9, 1.5, 0.5, '60', '', true, [], {}, [60], Number.MAX_SAFE_INTEGER + 2),
  fc.integer({ min: -1e9, max: 0 }),
  fc.integer({ min: 604801, max: 2 ** 31 }),
  fc.double({ min: 1.0001, max: 604799.9, noNaN: true }).filter((d) => !Number.isInteger(d)),
);
export const invalidNormalBalance: fc.Arbitrary<unknown> = fc
  .oneof(
    fc.constantFrom('Credit', 'CREDIT', 'debit ', ' credit', '', 'sideways', 'both', 'debits', 'cr'),
    hostileString(),
    notAString,
  )
  .filter((v) => v !== 'debit' && v !== 'credit');
export const invalidAccountStatus: fc.Arbitrary<unknown> = fc
  .oneof(fc.constantFrom('Active', 'deleted', '', 'open', 'frozen ', 'CLOSED', 'expired'), hostileString(), notAString)
  .filter((v) => v !== 'active' && v !== 'frozen' && v !== 'closed');
export const invalidUsername: fc.Arbitrary<unknown> = fc
  .oneof(
    fc.constantFrom('ab', 'a', '', 'has space', '\u043a\u043b\u044e\u0447', 'user/name', 'a\u0000bc', 'root-admin\n'),
    overLong(65, 300),
    hostileString(),
    notAString,
  )
  .filter((v) => !(typeof v === 'string' && USERNAME.test(v)));
export const invalidPassword: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 11 }).filter((s) => [...s].length < 12 && s.length < 12),
  overLong(257, 2000),
  notAString,
);
export const ROLES = ['admin', 'operator', 'auditor'] as const;
export const validRoles = fc.shuffledSubarray([...ROLES], { minLength: 1 });
export const invalidRoles: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    [],
    ['root'],
    ['Admin'],
    ['admin', 'admin'],
    ['admin', 'operator', 'auditor', 'admin'],
    'admin',
    [1],
    [null],
    [['admin']],
    [{}],
    {},
    1,
    true,
    '',
  ),
  fc
    .array(hostileString(), { minLength: 1, maxLength: 3 })
    .filter((a) => a.some((r) => !(ROLES as readonly string[]).includes(r))),
);
export const invalidLoginField = (max: number): fc.Arbitrary<unknown> =>
  fc.oneof(fc.constant(''), overLong(max + 1, max + 300), notAString);

// ---- query-string values ----
/** Limits that are not an integer 1…500 under any reading (lenient forms such as "1e2" or " 10" are left out). */
export const invalidLimit: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      '0',
      '-1',
      '-0',
      '501',
      '1000',
      '1000000',
      '1.5',
      '0.5',
      'abc',
      '',
      'null',
      '1,2',
      '10abc',
      'Infinity',
      '1e400',
      ' ',
      '9'.repeat(400),
    ),
    fc.integer({ min: -1e9, max: 0 }).map(String),
    fc.integer({ min: 501, max: 1e12 }).map(String),
    fc.tuple(fc.integer({ min: 0, max: 499 }), fc.integer({ min: 1, max: 99 })).map(([a, b]) => `${a}.${b}`),
    hostileString(),
  )
  .filter((s) => {
    const n = Number(s);
    return !(Number.isInteger(n) && n >= 1 && n <= 500);
  });
export const validLimit = fc.integer({ min: 1, max: 500 }).map(String);

/** Would the service take `s` as one of its cursors (base64url JSON array of `arity` short strings)? */
export function decodesAsCursor(s: string, arity: number): boolean {
  try {
    const key: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    return Array.isArray(key) && key.length === arity && key.every((k) => typeof k === 'string' && k.length < 200);
  } catch {
    return false;
  }
}
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
/** Cursors that are garbage on their face: not base64url JSON, the wrong shape or arity, or too long. */
export const garbageCursor = (arity: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      hostileString(),
      fc.string({
        unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_='),
        maxLength: 40,
      }),
      fc.jsonValue({ maxDepth: 2 }).map(b64),
      fc
        .array(fc.string({ maxLength: 10 }), { maxLength: 4 })
        .filter((a) => a.length !== arity)
        .map(b64),
      fc
        .array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)), { minLength: arity, maxLength: arity })
        .map(b64),
      fc.constantFrom('', 'null', 'W10', 'e30', '%00', 'x'.repeat(600)),
    )
    .filter((s) => s.length > 512 || !decodesAsCursor(s, arity));
export const invalidSeqCursor: fc.Arbitrary<string> = fc
  .oneof(
    hostileString(),
    fc.constantFrom('-1', '01', ' 1', '1.5', '1e3', '0x1', 'abc', ''),
    fc.integer({ max: -1 }).map(String),
  )
  .filter((s) => !SEQ_CURSOR.test(s));
/** Query date strings that no ISO 8601 reading accepts. */
export const invalidDate: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      'yesterday',
      'now',
      '2020-13-01',
      '2020-00-10',
      '2020-02-30',
      '2021-02-29',
      '2020-01-01T25:00:00Z',
      '2020-01-01T12:60:00Z',
      '2020-01-01 12:00:00',
      '2020/01/01',
      '01/02/2020',
      '1700000000',
      '-1',
      '',
      '2020-01-01T00:00:00ZZ',
      '2020-01-01T00:00:00+25:00',
      '0000-00-00',
      '2020-1-1',
      'Infinity',
      '2020-01-01T00:00:00.000Z\u0000',
      "2020-01-01'; DROP TABLE transfers; --",
    ),
    hostileString(),
    fc.integer().map(String),
  )
  .filter((s) => !isStrictIso8601(s));

/**
 * ISO 8601 forms outside the RFC 3339 profile (week and ordinal dates, basic format, reduced precision) that
 * the service's validator admits. Either answer is fair (a 200 that reads them right, or a 400); a 5xx is not.
 */
export const exoticIsoDate: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 1971, max: 2099 }),
    fc.integer({ min: 1, max: 52 }),
    fc.integer({ min: 1, max: 7 }),
    fc.integer({ min: 1, max: 365 }),
    fc.integer({ min: 0, max: 23 }),
    fc.constantFrom(
      'week',
      'week-day',
      'week-basic',
      'ordinal',
      'ordinal-basic',
      'basic',
      'basic-time',
      'hour',
      'year-month',
      'year',
      'fraction',
      'comma',
      'offset-basic',
      'offset-hour',
    ),
  )
  .map(([y, w, d, doy, h, form]) => {
    const ww = String(w).padStart(2, '0');
    const ddd = String(doy).padStart(3, '0');
    const hh = String(h).padStart(2, '0');
    switch (form) {
      case 'week':
        return `${y}-W${ww}`;
      case 'week-day':
        return `${y}-W${ww}-${d}`;
      case 'week-basic':
        return `${y}W${ww}${d}`;
      case 'ordinal':
        return `${y}-${ddd}`;
      case 'ordinal-basic':
        return `${y}${ddd}`;
      case 'basic':
        return `${y}0315`;
      case 'basic-time':
        return `${y}0315T${hh}3000Z`;
      case 'hour':
        return `${y}-03-15T${hh}`;
      case 'year-month':
        return `${y}-03`;
      case 'year':
        return `${y}`;
      case 'fraction':
        return `${y}-03-15T${hh}:30:00.123456789Z`;
      case 'comma':
        return `${y}-03-15T${hh}:30:00,5Z`;
      case 'offset-basic':
        return `${y}-03-15T${hh}:30:00+0530`;
      default:
        return `${y}-03-15T${hh}:30:00+05`;
    }
  })
  .filter((s) => isStrictIso8601(s) && !RFC3339ISH.test(s));

// ---- forged cursors: well-formed on their face, with keys the database cannot read ----
const notNumeric = hostileString().filter((s) => s.length < 200 && /[^\s0-9a-fA-FxXoObB_+-]/.test(s));
const outOfRange = fc
  .oneof(fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 30n }), fc.bigInt({ min: -(10n ** 30n), max: -INT64_MAX - 2n }))
  .map(String);
const decimal = fc
  .tuple(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 999 }))
  .map(([a, b]) => `${a}.${b}`);
const badBigintKey = fc.oneof(notNumeric, outOfRange, decimal);
const notTimestamp = hostileString().filter((s) => s.length < 200 && /['";=(){}<>!?|]/.test(s));
const notUuid = hostileString().filter((s) => s.length < 200 && /[^0-9a-fA-F{}-]/.test(s));
/** A base64url JSON array of the right arity whose key is not a number (arity 1) or not a (timestamp, uuid) pair. */
export const forgedCursor = (arity: 1 | 2): fc.Arbitrary<string> =>
  (arity === 1
    ? badBigintKey.map((k) => [k])
    : fc.oneof(fc.tuple(notTimestamp, unknownUuid), fc.tuple(validIsoDate, notUuid), fc.tuple(outOfRange, unknownUuid))
  ).map(b64);
/** 19-digit sequence numbers above PostgreSQL's bigint: they match the seq cursor's pattern. */
export const seqBeyondBigint = fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 19n - 1n }).map(String);
