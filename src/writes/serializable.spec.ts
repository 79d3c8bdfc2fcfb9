import { MAX_ATTEMPTS, MAX_TOTAL_MS, retryDecision, sqlState } from './serializable.js';

const pgError = (code: string): Error => Object.assign(new Error('pg'), { code });

describe('retryDecision (when a failed transaction runs again)', () => {
  it.each(['40001', '40P01'])('retries %s after a full-jitter wait under the cap', (code) => {
    expect(retryDecision(pgError(code), 1, 0, () => 0.5)).toEqual({ waitMs: 2 });
    expect(retryDecision(pgError(code), 3, 0, () => 1)).toEqual({ waitMs: 16 });
    // Capped at 200 ms, and never past the time left.
    expect(retryDecision(pgError(code), 20, 0, () => 1)).toEqual({ waitMs: 200 });
    expect(retryDecision(pgError(code), 20, MAX_TOTAL_MS - 30, () => 1)).toEqual({ waitMs: 30 });
  });

  it.each([
    ['a unique violation', pgError('23505')],
    ['a check violation', pgError('23514')],
    ['a lost connection', pgError('ECONNRESET')],
    ['a bug', new TypeError('x is undefined')],
    ['a non-error', 'string'],
  ])('does not retry %s', (_, error) => {
    expect(retryDecision(error, 1, 0)).toBe('fail');
  });

  it('gives up when the attempts or the time run out', () => {
    expect(retryDecision(pgError('40001'), MAX_ATTEMPTS - 1, 0)).not.toBe('exhausted');
    expect(retryDecision(pgError('40001'), MAX_ATTEMPTS, 0)).toBe('exhausted');
    expect(retryDecision(pgError('40001'), 2, MAX_TOTAL_MS)).toBe('exhausted');
  });

  it('reads SQLSTATEs only: five characters of digits and capitals', () => {
    expect(sqlState(pgError('40001'))).toBe('40001');
    expect(sqlState(pgError('ECONNRESET'))).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
  });
});
