/**
 * Fixed-window counters of login attempts per username and per client address. In memory: with several
 * instances each enforces its own limit, which still bounds guessing to limit × instances per window.
 *
 * Not @nestjs/throttler's storage: its only operation, `increment`, counts the attempt it checks, whereas a
 * login must be refused before its password is checked yet counted per username only once it has failed.
 */
export class LoginRateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string, now = Date.now()): number {
    const w = this.windows.get(key);
    if (w === undefined || w.resetAt <= now) return 0;
    return w.count >= this.limit ? Math.ceil((w.resetAt - now) / 1000) : 0;
  }

  hit(key: string, now = Date.now()): void {
    const w = this.windows.get(key);
    if (w === undefined || w.resetAt <= now) {
      if (this.windows.size > 100_000) this.prune(now);
      this.windows.set(key, { count: 1, resetAt: now + this.windowMs });
    } else {
      w.count += 1;
    }
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
