import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { LedgerError } from '../core/errors.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { type Tx, Serializable } from './serializable.js';

/** Transfers (or other units) taken into one transaction at most, so groups stay short in time and memory. */
const MAX_GROUP_WEIGHT = 1000;

/** Runs many units of one kind together (one statement per table for all of them); a result per input. */
export type BulkHandler<I> = (tx: Tx, inputs: I[]) => Promise<BulkResult[]>;
export type BulkResult = { value: unknown } | { refusal: LedgerError };

interface Unit {
  /** Its share of a group: the number of transfers of a bulk unit, 1 for any other. */
  weight: number;
  work: ((tx: Tx) => Promise<unknown>) | { handler: BulkHandler<unknown>; input: unknown };
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, as TigerBeetle batches: every write of this instance is a unit of work queued here, and one
 * SERIALIZABLE transaction at a time runs all the units that arrived while the previous one was in flight.
 * Units of one bulk kind (new transfers) are checked one after another in memory and written together;
 * other units run each under a savepoint. Either way a refused unit (a LedgerError) is undone alone and its
 * neighbours still commit. Each unit locks its accounts FOR UPDATE in id order; as only one writing
 * transaction runs at a time (see `Serializable`), those locks never wait on another writer, and a hot account
 * costs one lock per group instead of a queue of transactions failing with 40001. `Serializable` retries a
 * group whole when it does fail.
 */
@Injectable()
export class GroupCommitter implements OnApplicationShutdown {
  private queue: Unit[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly serializable: Serializable,
    private readonly metrics: MetricsService,
  ) {}

  submit<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.enqueue(1, work) as Promise<T>;
  }

  submitBulk<I, T>(weight: number, handler: BulkHandler<I>, input: I): Promise<T> {
    return this.enqueue(weight, { handler: handler as BulkHandler<unknown>, input }) as Promise<T>;
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    await this.serializable.close();
  }

  private enqueue(weight: number, work: Unit['work']): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ weight, work, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    let taken = 1;
    let weight = this.queue[0]!.weight;
    while (taken < this.queue.length && weight + this.queue[taken]!.weight <= MAX_GROUP_WEIGHT) {
      weight += this.queue[taken]!.weight;
      taken++;
    }
    const group = this.queue.splice(0, taken);
    const stopTimer = this.metrics.groupDuration.startTimer();
    this.inFlight = this.commit(group).then((settle) => {
      stopTimer();
      this.metrics.groupUnits.observe(weight);
      this.inFlight = undefined;
      // The next group's first round trip leaves before this group's callers are answered: rendering and
      // sending their responses waits for a macrotask, so PostgreSQL works on the next group meanwhile instead
      // of idling while Node answers (pg's pool hands out a connection on a later tick, behind every promise
      // the answers would otherwise queue).
      this.next();
      setImmediate(settle);
    });
  }

  /** Runs the group; what it returns resolves or rejects each unit's promise. */
  private async commit(group: Unit[]): Promise<() => void> {
    const settled: (() => void)[] = [];
    const settle = (): void => settled.forEach((s) => s());
    let units = group;
    while (units.length > 0) {
      let culprits: Unit[] = [];
      try {
        const results = await this.serializable.run(async (tx) => {
          culprits = [];
          const out = new Map<Unit, BulkResult>();
          const bulks = new Map<BulkHandler<unknown>, Unit[]>();
          let closures = 0;
          for (const unit of units) {
            if (typeof unit.work === 'function') {
              closures++;
              continue;
            }
            const members = bulks.get(unit.work.handler) ?? [];
            members.push(unit);
            bulks.set(unit.work.handler, members);
          }
          let left = bulks.size;
          for (const [handler, members] of bulks) {
            // A bulk's writes are pipelined: they fail at the flush before the next piece of work, or at
            // COMMIT when nothing follows, and either way they are this bulk's failure.
            culprits = members;
            const done = await handler(
              tx,
              members.map((u) => (u.work as { input: unknown }).input),
            );
            if (--left > 0 || closures > 0) await tx.flush();
            members.forEach((u, i) => out.set(u, done[i]!));
          }
          if (closures > 0) culprits = [];
          for (const unit of units) {
            if (typeof unit.work !== 'function') continue;
            // Sent without waiting for it; RELEASE waits, so a write of this unit that failed is blamed on it.
            tx.write('SAVEPOINT unit');
            try {
              out.set(unit, { value: await unit.work(tx) });
              await tx.query('RELEASE SAVEPOINT unit');
            } catch (error) {
              if (!(error instanceof LedgerError)) {
                culprits = [unit];
                throw error;
              }
              await tx.query('ROLLBACK TO SAVEPOINT unit');
              out.set(unit, { refusal: error });
            }
          }
          return out;
        });
        for (const unit of units) {
          const r = results.get(unit)!;
          settled.push('refusal' in r ? () => unit.reject(r.refusal) : () => unit.resolve(r.value));
        }
        return settle;
      } catch (error) {
        // Units that fail for a reason other than a ledger refusal fail alone; the rest run again without them.
        // Anything else (the database away, retries exhausted) fails the whole group.
        const failed = culprits.length === 0 || isServiceUnavailable(error) ? units : culprits;
        for (const unit of failed) settled.push(() => unit.reject(error));
        units = units.filter((u) => !failed.includes(u));
      }
    }
    return settle;
  }
}

function isServiceUnavailable(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 503;
}
