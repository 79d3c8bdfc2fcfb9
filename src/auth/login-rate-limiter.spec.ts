import { LoginRateLimiter } from './login-rate-limiter.js';

describe('LoginRateLimiter (fixed window per key)', () => {
  const t0 = 1_700_000_000_000;

  it('lets a key try until it has used up its limit, then names the seconds left in its window', () => {
    const limiter = new LoginRateLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('u:bob', t0 + i * 1000)).toBe(0);
      limiter.hit('u:bob', t0 + i * 1000);
    }
    // The window opened with the first hit, not the last: 60 s from t0, seen 10.5 s later.
    expect(limiter.retryAfter('u:bob', t0 + 10_500)).toBe(50);
  });

  it('rounds the wait up, so that a client retrying after Retry-After seconds is never refused again', () => {
    const limiter = new LoginRateLimiter(1, 2_000);
    limiter.hit('k', t0);
    expect(limiter.retryAfter('k', t0 + 1)).toBe(2);
    expect(limiter.retryAfter('k', t0 + 1_001)).toBe(1);
    expect(limiter.retryAfter('k', t0 + 1_999)).toBe(1);
    expect(limiter.retryAfter('k', t0 + 2_000)).toBe(0);
  });

  it('starts a fresh count once the window has passed', () => {
    const limiter = new LoginRateLimiter(2, 1_000);
    limiter.hit('k', t0);
    limiter.hit('k', t0 + 500);
    expect(limiter.retryAfter('k', t0 + 999)).toBe(1);
    limiter.hit('k', t0 + 1_000); // the first hit of a new window
    expect(limiter.retryAfter('k', t0 + 1_001)).toBe(0);
    limiter.hit('k', t0 + 1_500);
    expect(limiter.retryAfter('k', t0 + 1_501)).toBe(1);
  });

  it('counts keys apart', () => {
    const limiter = new LoginRateLimiter(1, 60_000);
    limiter.hit('u:alice', t0);
    expect(limiter.retryAfter('u:alice', t0)).toBe(60);
    expect(limiter.retryAfter('u:bob', t0)).toBe(0);
    expect(limiter.retryAfter('a:alice', t0)).toBe(0);
  });

  it('forgets expired windows once it holds more than 100,000 keys, so a spray of usernames cannot grow it forever', () => {
    const limiter = new LoginRateLimiter(1, 1_000);
    for (let i = 0; i <= 100_000; i++) limiter.hit(`u:${i}`, t0);
    limiter.hit('u:late', t0 + 1_000); // past every earlier window: this one prunes them
    const windows = (limiter as unknown as { windows: Map<string, unknown> }).windows;
    expect([...windows.keys()]).toEqual(['u:late']);
    expect(limiter.retryAfter('u:late', t0 + 1_000)).toBe(1);
  });
});
