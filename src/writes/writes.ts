import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { type GroupUnit, runGroup, type Work } from './group.js';
import type { Outcome } from './idempotency.js';
import { Serializable } from './serializable.js';
import { Unavailable } from './unavailable.js';
import type { WriteRequest } from './write-request.js';

/** Transfers (or other units) taken into one transaction at most, so groups stay short in time and memory. */
const MAX_GROUP_WEIGHT = 1000;

interface Unit extends GroupUnit {
  /** Its share of a group: the number of transfers of a bulk unit, 1 for any other. */
  weight: number;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/**
 * The one entrance for every write. `submit` queues a unit of work; one SERIALIZABLE transaction at a time
 * (`Serializable`) runs every unit that arrived while the previous one was in flight (group commit, as TigerBeetle
 * batches), with idempotency, bulk decisions and savepoints as `runGroup` does them. A refused unit is undone
 * alone and its neighbours still commit; a unit that fails for another reason is dropped and the rest run again
 * without it. Each unit locks its accounts FOR UPDATE in id order; as only one writing transaction runs at a
 * time, those locks never wait on another writer, and a hot account costs one lock per group instead of a queue
 * of transactions failing with 40001. `Serializable` retries a group whole when it does fail.
 */
@Injectable()
export class Writes implements OnApplicationShutdown {
  private queue: Unit[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly serializable: Serializable,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Runs `work` once per idempotency key of `request`: its outcome (the result or the ledger's refusal), or the
   * replay of the first one. Rejects only when the write could not be carried out (`Unavailable`, a bug).
   */
  submit<T>(request: WriteRequest, work: Work<T>): Promise<Outcome<T>> {
    return new Promise<Outcome>((resolve, reject) => {
      const weight = 'run' in work ? 1 : work.weight;
      this.queue.push({ request, work: work, weight, resolve, reject });
      this.next();
    }) as Promise<Outcome<T>>;
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    await this.serializable.close();
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
      let culprits: readonly GroupUnit[] = [];
      try {
        const outcomes = await this.serializable.run((tx) => {
          culprits = [];
          return runGroup(tx, units, (c) => (culprits = c));
        });
        for (const unit of units) {
          const outcome = outcomes.get(unit)!;
          settled.push(() => unit.resolve(outcome));
        }
        return settle;
      } catch (error) {
        // Units that fail for another reason than a ledger refusal fail alone; the rest run again without them.
        // The database away or retries exhausted fail the whole group.
        const failed =
          culprits.length === 0 || error instanceof Unavailable ? units : units.filter((u) => culprits.includes(u));
        for (const unit of failed) settled.push(() => unit.reject(error));
        units = units.filter((u) => !failed.includes(u));
      }
    }
    return settle;
  }
}
