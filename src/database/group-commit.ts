import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { LedgerError } from '../core/errors.js';
import { type Tx, Serializable } from './serializable.js';

/** Units taken into one transaction at most; a batch request is one unit. */
const MAX_GROUP = 128;

interface Unit {
  accounts: string[];
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, as TigerBeetle batches: every write of this instance is a unit of work queued here, and one
 * SERIALIZABLE transaction at a time runs all the units that arrived while the previous one was in flight.
 * The group locks the accounts of all its units once, in id order; each unit runs under a savepoint, so a
 * refused unit (a LedgerError) is rolled back alone and its neighbours still commit. With one writing
 * transaction per instance, writes of one instance never conflict with each other, and a hot account costs
 * one lock per group instead of a queue of transactions failing with 40001. Conflicts with other instances
 * abort the group, and `Serializable` retries it whole.
 */
@Injectable()
export class GroupCommitter implements OnApplicationShutdown {
  private queue: Unit[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(private readonly serializable: Serializable) {}

  submit<T>(accounts: string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ accounts, work, resolve: resolve as (value: unknown) => void, reject });
      this.next();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  private next(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    const group = this.queue.splice(0, MAX_GROUP);
    this.inFlight = this.commit(group).finally(() => {
      this.inFlight = undefined;
      this.next();
    });
  }

  private async commit(group: Unit[]): Promise<void> {
    let units = group;
    while (units.length > 0) {
      let culprit: Unit | undefined;
      try {
        const outcomes = await this.serializable.run(async (tx) => {
          culprit = undefined;
          const accounts = [...new Set(units.flatMap((u) => u.accounts))].sort();
          if (accounts.length > 0) {
            await tx.query('SELECT 1 FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [accounts]);
          }
          const results: { value?: unknown; refusal?: LedgerError }[] = [];
          for (const unit of units) {
            await tx.query('SAVEPOINT unit');
            try {
              results.push({ value: await unit.work(tx) });
              await tx.query('RELEASE SAVEPOINT unit');
            } catch (error) {
              if (!(error instanceof LedgerError)) {
                culprit = unit;
                throw error;
              }
              await tx.query('ROLLBACK TO SAVEPOINT unit');
              results.push({ refusal: error });
            }
          }
          return results;
        });
        outcomes.forEach((o, i) =>
          o.refusal === undefined ? units[i]!.resolve(o.value) : units[i]!.reject(o.refusal),
        );
        return;
      } catch (error) {
        // A unit that fails for a reason other than a ledger refusal fails alone; the rest run again without it.
        // Anything else (the database away, retries exhausted) fails the whole group.
        if (culprit === undefined || isServiceUnavailable(error)) {
          for (const unit of units) unit.reject(error);
          return;
        }
        culprit.reject(error);
        units = units.filter((u) => u !== culprit);
      }
    }
  }
}

function isServiceUnavailable(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 503;
}
