import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { SYSTEM_REQUEST } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';

/** How often the refusals seen since the last flush are written: SPEC 10 asks for within 5 seconds. */
const FLUSH_MS = 1000;
/** Distinct (kind, username, address) records per flush; the rest are counted in one record per kind. */
const MAX_RECORDS = 1000;
/** Longer usernames are recorded cut to this: the limiter already refused them, and a record must stay small. */
const MAX_USERNAME = 256;

type Kind = 'refused' | 'rateLimited';

interface Tally {
  kind: Kind;
  username: string | null;
  address: string | null;
  attempts: number;
  firstAt: string;
  lastAt: string;
}

/**
 * Refused logins and rate-limit refusals for the administrative log. A login flood must not hold a writer's
 * transaction open per attempt: attempts are counted in memory, one record per (kind, username, address) with
 * its number of attempts, and written once a second in one logged write. Memory is bounded: past MAX_RECORDS
 * distinct records in a second, further attempts are added to one record per kind whose username and address
 * are null, so every attempt is still counted.
 */
@Injectable()
export class LoginRefusals implements BeforeApplicationShutdown {
  private readonly logger = new Logger(LoginRefusals.name);
  private pending = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly writes: Writes) {}

  record(kind: Kind, username: string, address: string): void {
    const now = new Date().toISOString();
    this.add({ kind, username: username.slice(0, MAX_USERNAME), address, attempts: 1, firstAt: now, lastAt: now });
  }

  /** Counts `t` into its record, or into its kind's overflow record once a second holds MAX_RECORDS. */
  private add(t: Tally): void {
    let key = t.username === null ? `${t.kind}\n*` : `${t.kind}\n${t.username.toLowerCase()}\n${t.address}`;
    let tally = this.pending.get(key);
    if (tally === undefined && this.pending.size >= MAX_RECORDS) {
      key = `${t.kind}\n*`;
      tally = this.pending.get(key);
    }
    if (tally === undefined) {
      tally = key.endsWith('\n*') ? { ...t, username: null, address: null, attempts: 0 } : { ...t, attempts: 0 };
      this.pending.set(key, tally);
    }
    tally.attempts += t.attempts;
    if (t.firstAt < tally.firstAt) tally.firstAt = t.firstAt;
    if (t.lastAt > tally.lastAt) tally.lastAt = t.lastAt;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  /** Written before the writers close. */
  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.flush();
    await this.flushing;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const tallies = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing
      .then(() =>
        this.writes.submit(SYSTEM_REQUEST, {
          logged: true,
          run: (_tx, log) => {
            for (const { kind, username, ...after } of tallies) {
              log({
                action: `login.${kind}`,
                resourceId: username ?? '*',
                ledgerId: null,
                before: null,
                after: { username, ...after },
              });
            }
            return Promise.resolve();
          },
        }),
      )
      .then((outcome) => {
        if ('refusal' in outcome) throw outcome.refusal;
      })
      .catch((error: unknown) => {
        // Counted again, to be written with the next second's: the database being away loses no attempt.
        for (const tally of tallies) this.add(tally);
        this.logger.error({ err: error }, 'could not log refused logins; they are kept for the next attempt');
      });
  }
}
