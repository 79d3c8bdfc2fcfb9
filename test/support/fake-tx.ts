import type { Tx } from '../../src/writes/serializable.js';

/** A statement the write module sent, as a test reads it back. */
export interface Sent {
  text: string;
  values: unknown[];
  waited: boolean;
}

/**
 * A stand-in for one open transaction, for unit tests of the write module without PostgreSQL: it records every
 * statement in order and answers the idempotency lookup from `stored` rows (as `find_outcomes` returns them).
 */
export class FakeTx implements Tx {
  readonly sent: Sent[] = [];

  constructor(private readonly stored: Record<string, unknown>[] = []) {}

  query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
    this.sent.push({ text, values, waited: true });
    if (text.includes('FROM idempotency_keys')) return Promise.resolve(this.stored as R[]);
    return Promise.resolve([]);
  }

  write(text: string, values: unknown[] = []): void {
    this.sent.push({ text, values, waited: false });
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** The statements whose text starts with `prefix` (after whitespace). */
  statements(prefix: string): Sent[] {
    return this.sent.filter((s) => s.text.trimStart().startsWith(prefix));
  }
}
