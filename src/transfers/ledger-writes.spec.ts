import { plain } from './ledger-writes.js';

describe('plain (array literals of values that need no quoting)', () => {
  it('writes uuids, integers, hashes, timestamps and nulls as a PostgreSQL array literal', () => {
    expect(plain([])).toBe('{}');
    expect(plain(['5f0c2b8e-0d7e-4a53-9a4f-0f4a2c0d1e22', null])).toBe('{5f0c2b8e-0d7e-4a53-9a4f-0f4a2c0d1e22,NULL}');
    expect(plain(['-9223372036854775808', '2026-11-21T11:52:00.123Z', 'USD_X1', 'debit'])).toBe(
      '{-9223372036854775808,2026-11-21T11:52:00.123Z,USD_X1,debit}',
    );
  });

  it.each([['a,b'], ['a"b'], ['a\\b'], ['a b'], ['{a}'], [''], ['NULL'], ['é']])(
    'refuses %j rather than send a literal that would read differently',
    (value) => {
      expect(() => plain(['ok', value])).toThrow('not a plain array');
    },
  );
});
