import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { type GroupUnit, runGroup, type Work } from './group.js';
import type { Outcome } from './idempotency.js';
import { LOG_LOCK, MAX_CONCURRENT_TRANSACTIONS, Serializable, SHARED_LOCK } from './serializable.js';
import { Unavailable } from './unavailable.js';
import type { WriteRequest } from './write-request.js';

/** Transfers (or other units) taken into one transaction at most, so groups stay short in time and memory. */
const MAX_GROUP_WEIGHT = 1000;
/**
 * How long a ready ledger waits behind groups of other ledgers before a transaction of its own starts beside
 * them. Groups are as large as they can be and run one at a time while they are quick: on two cores a second
 * transaction in flight cost 37 % of the 4-ledger throughput and brought serialization retries to 0.8 %
 * (BENCHMARKS.md), as PostgreSQL has no core to spare and smaller groups pay BEGIN to COMMIT more often. A slow
 * group (a large batch, a slow disk) does not hold other ledgers up for longer than this.
 */
export const PARALLEL_AFTER_MS = 50;
/** The lane of the writes that move no ledger's money (users, ledgers themselves): their own writer. */
const SHARED_LANE = '';

interface Unit extends GroupUnit {
  /** Its share of a group: the number of transfers of a bulk unit, 1 for any other. */
  weight: number;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/** One ledger's writes: its queue, and whether a group with some of them is in flight. */
interface Lane {
  key: string;
  queue: Unit[];
  busy: boolean;
}

/**
 * The one entrance for every write. `submit` queues a unit of work in its ledger's lane. A lane has at most one
 * SERIALIZABLE transaction (`Serializable`) in flight, on every instance (its advisory lock); the next group takes
 * every unit of every ready lane that arrived meanwhile (group commit, as TigerBeetle batches), with idempotency,
 * bulk decisions and savepoints as `runGroup` does them. A ledger whose lane is free does not wait for a slow
 * group of others: after PARALLEL_AFTER_MS its own transaction starts beside it, on another connection. A refused
 * unit is undone alone and its neighbours still commit; a unit that fails for another reason is dropped and the
 * rest run again without it. Each unit locks its accounts FOR UPDATE in id order; as a ledger's accounts are
 * written by one transaction at a time, those locks never wait on another writer, and a hot account costs one
 * lock per group instead of a queue of transactions failing with 40001. `Serializable` retries a group whole when
 * it does fail.
 *
 * The lane is where a write queues, not what makes it correct: SERIALIZABLE does that whatever lane a write
 * takes, so a write named to the wrong lane (a refused cross-ledger transfer) is still exact, only less parallel.
 */
@Injectable()
export class Writes implements OnApplicationShutdown {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with work queued and no group in flight, in the order they became ready (fair between ledgers). */
  private ready: Lane[] = [];
  /** The groups in flight, with when each started. */
  private readonly inFlight = new Map<Promise<void>, number>();
  private timer: NodeJS.Timeout | undefined;

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
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.keys());
    await this.serializable.close();
  }

  private next(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.ready.length > 0 && this.inFlight.size < MAX_CONCURRENT_TRANSACTIONS) {
      // Beside groups in flight only once the youngest of them has run PARALLEL_AFTER_MS.
      const wait = Math.max(...this.inFlight.values()) + PARALLEL_AFTER_MS - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.next(), wait);
        return;
      }
      this.start();
    }
  }

  /**
   * Starts a group with every ready lane, oldest first, up to MAX_GROUP_WEIGHT. A group is as large as it can be
   * (its fixed costs, BEGIN to COMMIT, shared by more transfers), so ledgers that are all busy take turns in one
   * transaction at a time; a ledger whose lane is free starts at once beside a group of others in flight.
   */
  private start(): void {
    const group: Unit[] = [];
    const lanes: Lane[] = [];
    let weight = 0;
    while (this.ready.length > 0) {
      const lane = this.ready[0]!;
      let taken = 0;
      while (
        taken < lane.queue.length &&
        (group.length + taken === 0 || weight + lane.queue[taken]!.weight <= MAX_GROUP_WEIGHT)
      ) {
        weight += lane.queue[taken]!.weight;
        taken++;
      }
      if (taken === 0) break;
      group.push(...lane.queue.splice(0, taken));
      this.ready.shift();
      lane.busy = true;
      lanes.push(lane);
      // Full: what is left of this lane waits for its group.
      if (lane.queue.length > 0) break;
    }
    const stopTimer = this.metrics.groupDuration.startTimer();
    const locks = lanes.map((lane) => lockKeyOf(lane.key));
    if (group.some((u) => 'run' in u.work && u.work.logged === true)) locks.push(LOG_LOCK);
    const running: Promise<void> = this.commit(group, locks).then((settle) => {
      stopTimer();
      this.metrics.groupUnits.observe(weight);
      this.inFlight.delete(running);
      for (const lane of lanes) {
        lane.busy = false;
        if (lane.queue.length > 0) this.ready.push(lane);
        else this.lanes.delete(lane.key);
      }
      // The next group's first round trip leaves before this group's callers are answered: rendering and
      // sending their responses waits for a macrotask, so PostgreSQL works on the next group meanwhile instead
      // of idling while Node answers (pg's pool hands out a connection on a later tick, behind every promise
      // the answers would otherwise queue).
      this.next();
      setImmediate(settle);
    });
    this.inFlight.set(running, Date.now());
  }

  /** Runs the group; what it returns resolves or rejects each unit's promise. */
  private async commit(group: Unit[], locks: number[]): Promise<() => void> {
    const settled: (() => void)[] = [];
    const settle = (): void => settled.forEach((s) => s());
    let units = group;
    while (units.length > 0) {
      let culprits: readonly GroupUnit[] = [];
      try {
        const outcomes = await this.serializable.run((tx) => {
          culprits = [];
          return runGroup(tx, units, (c) => (culprits = c));
        }, locks);
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
