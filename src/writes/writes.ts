import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { type GroupUnit, runGroup, type Work } from './group.js';
import type { Outcome } from './idempotency.js';
import { MAX_CONCURRENT_TRANSACTIONS, Serializable, SHARED_LOCK } from './serializable.js';
import { Unavailable } from './unavailable.js';
import type { WriteRequest } from './write-request.js';

/** Transfers (or other units) taken into one transaction at most, so groups stay short in time and memory. */
const MAX_GROUP_WEIGHT = 1000;
/** The lane of the writes that move no ledger's money (users, ledgers themselves): their own writer. */
const SHARED_LANE = '';

interface Unit extends GroupUnit {
  /** Its share of a group: the number of transfers of a bulk unit, 1 for any other. */
  weight: number;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/** One ledger's writer: its queue, and whether a group of it is in flight. */
interface Lane {
  key: string;
  queue: Unit[];
  busy: boolean;
}

/**
 * The one entrance for every write. `submit` queues a unit of work in its ledger's lane; each lane runs one
 * SERIALIZABLE transaction at a time (`Serializable`), taking every unit that arrived while the previous one was
 * in flight (group commit, as TigerBeetle batches), with idempotency, bulk decisions and savepoints as `runGroup`
 * does them. Lanes of different ledgers run side by side on separate connections, so a busy ledger never waits
 * for another. A refused unit is undone alone and its neighbours still commit; a unit that fails for another
 * reason is dropped and the rest run again without it. Each unit locks its accounts FOR UPDATE in id order; as
 * only one transaction per ledger runs at a time (the lane's advisory lock, across instances too), those locks
 * never wait on another writer, and a hot account costs one lock per group instead of a queue of transactions
 * failing with 40001. `Serializable` retries a group whole when it does fail.
 *
 * The lane is where a write queues, not what makes it correct: SERIALIZABLE does that whatever lane a write
 * takes, so a write named to the wrong lane (a refused cross-ledger transfer) is still exact, only less parallel.
 */
@Injectable()
export class Writes implements OnApplicationShutdown {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with work queued and no group in flight, in the order they became ready (fair between ledgers). */
  private ready: Lane[] = [];
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly serializable: Serializable,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Runs `work` once per idempotency key of `request`: its outcome (the result or the ledger's refusal), or the
   * replay of the first one. `ledgerId` names the ledger whose money the work moves (its lane); none: the shared
   * lane. Rejects only when the write could not be carried out (`Unavailable`, a bug).
   */
  submit<T>(request: WriteRequest, work: Work<T>, ledgerId?: string): Promise<Outcome<T>> {
    return new Promise<Outcome>((resolve, reject) => {
      const weight = 'run' in work ? 1 : work.weight;
      const key = ledgerId ?? SHARED_LANE;
      let lane = this.lanes.get(key);
      if (lane === undefined) {
        lane = { key, queue: [], busy: false };
        this.lanes.set(key, lane);
      }
      lane.queue.push({ request, work: work, weight, resolve, reject });
      if (!lane.busy && lane.queue.length === 1) this.ready.push(lane);
      this.next();
    }) as Promise<Outcome<T>>;
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.serializable.close();
  }

  private next(): void {
    while (this.inFlight.size < MAX_CONCURRENT_TRANSACTIONS && this.ready.length > 0) this.start(this.ready.shift()!);
  }

  private start(lane: Lane): void {
    let taken = 1;
    let weight = lane.queue[0]!.weight;
    while (taken < lane.queue.length && weight + lane.queue[taken]!.weight <= MAX_GROUP_WEIGHT) {
      weight += lane.queue[taken]!.weight;
      taken++;
    }
    const group = lane.queue.splice(0, taken);
    lane.busy = true;
    const stopTimer = this.metrics.groupDuration.startTimer();
    const running: Promise<void> = this.commit(group, lockKeyOf(lane.key)).then((settle) => {
      stopTimer();
      this.metrics.groupUnits.observe(weight);
      this.inFlight.delete(running);
      lane.busy = false;
      if (lane.queue.length > 0) this.ready.push(lane);
      else this.lanes.delete(lane.key);
      // The next group's first round trip leaves before this group's callers are answered: rendering and
      // sending their responses waits for a macrotask, so PostgreSQL works on the next group meanwhile instead
      // of idling while Node answers (pg's pool hands out a connection on a later tick, behind every promise
      // the answers would otherwise queue).
      this.next();
      setImmediate(settle);
    });
    this.inFlight.add(running);
  }

  /** Runs the group; what it returns resolves or rejects each unit's promise. */
  private async commit(group: Unit[], lock: number): Promise<() => void> {
    const settled: (() => void)[] = [];
    const settle = (): void => settled.forEach((s) => s());
    let units = group;
    while (units.length > 0) {
      let culprits: readonly GroupUnit[] = [];
      try {
        const outcomes = await this.serializable.run((tx) => {
          culprits = [];
          return runGroup(tx, units, (c) => (culprits = c));
        }, lock);
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

/**
 * The advisory lock of a lane, the same on every instance: 32 bits of the ledger id (UUIDs are random there; the
 * default ledger's are zero), and SHARED_LOCK for the shared lane. Two ledgers that share them only share a writer.
 */
export function lockKeyOf(lane: string): number {
  return lane === SHARED_LANE ? SHARED_LOCK : Number.parseInt(lane.slice(0, 8), 16) | 0;
}
