import fc from 'fast-check';
import { AMOUNT_PATTERN, INT64_MAX, formatMoney, isAmountString, parseAmount } from './money.js';

const INT64_MIN = -(2n ** 63n);

const TWO_53 = 2n ** 53n;

describe('money constants', () => {
  it('bound PostgreSQL bigint', () => {
    expect(INT64_MAX).toBe(2n ** 63n - 1n);
    expect(AMOUNT_PATTERN.test('1')).toBe(true);
  });
});

describe('isAmountString / parseAmount', () => {
  const valid: Array<[string, bigint]> = [
    ['1', 1n],
    ['2', 2n],
    ['10', 10n],
    ['1050', 1050n],
    ['9007199254740991', TWO_53 - 1n],
    ['9007199254740992', TWO_53],
    ['9007199254740993', TWO_53 + 1n],
    ['1000000000000000000', 10n ** 18n],
    ['9223372036854775806', INT64_MAX - 1n],
    ['9223372036854775807', INT64_MAX],
  ];

  it.each(valid)('accepts %s exactly', (s, v) => {
    expect(isAmountString(s)).toBe(true);
    expect(parseAmount(s)).toBe(v);
    expect(formatMoney(parseAmount(s))).toBe(s);
  });

  it('keeps 2^53 ± 1 distinct, which a double could not', () => {
    const a = parseAmount('9007199254740992');
    const b = parseAmount('9007199254740993');
    expect(b - a).toBe(1n);
    expect(formatMoney(b)).toBe('9007199254740993');
    expect(formatMoney(parseAmount('9007199254740991') + 2n)).toBe('9007199254740993');
  });

  const invalid: unknown[] = [
    '',
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
    '\n1',
    '1e3',
    '1E3',
    '1.0',
    '1.',
    '.5',
    '0.5',
    '1_000',
    '1,000',
    '0x10',
    '0b1',
    'Infinity',
    'NaN',
    'abc',
    '١٢٣', // Arabic-Indic digits
    '１２', // full-width digits
    '9223372036854775808', // 2^63
    '9999999999999999999',
    '10000000000000000000', // 20 digits
    '18446744073709551615',
    '00000000000000000001',
    123,
    1n,
    null,
    undefined,
    {},
    ['1'],
  ];

  it.each(invalid.map((v) => [v]))('rejects %p', (v) => {
    expect(isAmountString(v)).toBe(false);
    if (typeof v === 'string') expect(() => parseAmount(v)).toThrow(RangeError);
  });

  it('rejects every 20+ digit string', () => {
    fc.assert(fc.property(fc.stringMatching(/^[1-9][0-9]{19,25}$/), (s) => !isAmountString(s)));
  });

  it('round-trips every amount in [1, INT64_MAX]', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: INT64_MAX }), (v) => {
        const s = formatMoney(v);
        expect(isAmountString(s)).toBe(true);
        expect(parseAmount(s)).toBe(v);
        expect(formatMoney(parseAmount(s))).toBe(s);
      }),
    );
  });

  it('round-trips strings the pattern generates, or rejects them only above INT64_MAX', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9][0-9]{0,18}$/), (s) => {
        if (BigInt(s) <= INT64_MAX) expect(formatMoney(parseAmount(s))).toBe(s);
        else expect(isAmountString(s)).toBe(false);
      }),
    );
  });

  it('rejects everything outside [1, INT64_MAX] written as a plain integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ max: 0n }), fc.bigInt({ min: INT64_MAX + 1n, max: 2n ** 70n })),
        (v) => !isAmountString(formatMoney(v)),
      ),
    );
  });
});

describe('formatMoney', () => {
  it('writes decimal with a minus sign for negatives', () => {
    expect(formatMoney(0n)).toBe('0');
    expect(formatMoney(-200n)).toBe('-200');
    expect(formatMoney(INT64_MIN)).toBe('-9223372036854775808');
    expect(formatMoney(INT64_MAX)).toBe('9223372036854775807');
    expect(formatMoney(-(TWO_53 + 1n))).toBe('-9007199254740993');
  });
});
