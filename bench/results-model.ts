import type { LoadResult } from './load.js';
import type { PgbenchResult } from './pgbench.js';
import type { WebhookLag } from './webhook-receiver.js';

/** The shape of bench/results/<timestamp>.json, and what BENCHMARKS.md is written from. */

/**
 * The measured scenarios, in the order a run measures them at each client count. `ledgers4` is `uniform` spread
 * over 4 ledgers (accounts of its own in each); its accounts are only created when it is selected. `tx4` is a
 * transaction of 4 postings (payment, fee, tax, settlement) among random wallets; its "transfers" are postings,
 * to compare with `uniform`'s entries (2 per transfer). `webhook` is measured once, after the others: `uniform` and
 * `batch` again at the client count of their best point, then `uniform` open loop at 70 % of its peak, each with one
 * webhook subscribed to every event and a receiver on loopback.
 */
export const SCENARIOS = ['uniform', 'hot', 'batch', 'ledgers4', 'tx4', 'webhook'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** CPU used during a point, in cores (CPU seconds per wall second); NaN when it could not be read. */
export interface CpuShare {
  service: number;
  postgres: number;
  /** the load generator (this process), or the pgbench client for pgbench points */
  client: number;
  /** every core's busy time on the machine */
  machine: number;
  /** machine − steal − service − postgres − client: other work on the machine (other test suites, the kernel…) */
  other: number;
  /** of machine: time the hypervisor kept runnable cores from running (a virtual machine's noisy neighbours) */
  steal: number;
  /** share of wall time during which some task waited for I/O (/proc/pressure/io "some"); NaN without PSI */
  ioStall: number;
}

/** Latency of `SELECT 1` from the bench process to PostgreSQL, sampled every 50 ms during a point. */
export interface RoundTrip {
  p50: number;
  p95: number;
  samples: number;
}

export interface Point extends LoadResult {
  scenario: Scenario | 'uniform-paced';
  clients: number;
  /** open-loop rate, for the paced point */
  targetRate?: number;
  retries: Record<string, number>;
  retriesTotal: number;
  /**
   * retriesTotal ÷ requests completed (answered, whatever the status) over the measured window, in percent
   * (absent from results written before it was recorded)
   */
  retriesPercent?: number;
  retriesExhausted: number;
  /**
   * Group commit over the measured window: transactions per second, mean units and mean duration of each, and
   * how many took over 50 ms (absent from results written before it was recorded)
   */
  groups: { perSecond: number; meanUnits: number; meanMs: number; over50Ms?: number };
  /** V8 heap and external memory of the service at the end of the point (GET /metrics) */
  heapMbAtEnd: { total: number; used: number; external: number };
  /** highest VmRSS of the service over warm-up and measurement (VmHWM after a reset, and 250 ms samples) */
  peakRssMb: number;
  cpu: CpuShare;
  pgRoundTripMs: RoundTrip;
  /** transfers/s ÷ pgbench tps at the same client count */
  ratioToPgbench: number | null;
}

/** A point measured with the bench's webhook subscribed to every event. */
export interface WebhookPoint extends Point {
  webhookLagMs: WebhookLag;
  /** transfers/s of the same scenario at the same client count without the webhook, earlier in the run */
  withoutWebhook: number | null;
}

export interface PgbenchPoint extends PgbenchResult {
  cpu: CpuShare;
  pgRoundTripMs: RoundTrip;
}

export interface TargetCheck {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
  why: string;
}

export interface Results {
  runId: string;
  startedAt: string;
  finishedAt: string;
  commit: string | null;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    /** other processes' CPU share over the measured points, in cores (median) */
    otherCpuMedian: number;
    /** steal and I/O stall over the measured points (medians; see CpuShare) */
    stealMedian: number;
    ioStallMedian: number;
  };
  postgres: { version: string; mode: 'embedded' | 'DATABASE_URL'; isolationDefault: string; maxConnections: string };
  pgbench:
    | { path: string; version: string; foundIn: string; scale: number; initSeconds: number; database: string }
    | { missing: string };
  settings: {
    seconds: number;
    warmupSeconds: number;
    clients: number[];
    scenarios: Scenario[];
    accounts: number;
    dbPoolSize: number;
    batchSize: number;
  };
  /** GET /v1/audit/trial-balance once the load is over: a row per ledger (its name, when known) and currency */
  trialBalanceAfter: {
    balanced: boolean;
    currencies: { ledger?: string; currency: string; balanced: boolean; totalDebits: string }[];
  };
  setup: {
    accountsCreated: number;
    createSeconds: number;
    fundSeconds: number;
    /** VmRSS of the service once ready, and once the accounts are created and funded */
    rssAfterStartMb: number;
    rssAfterSetupMb: number;
    /**
     * The accounts of the ledgers4 scenario, created and funded after the ones above (absent when ledgers4 was not
     * selected): the ledgers' names, and a funding account plus accounts ÷ 4 wallets in each
     */
    ledgers4?: { ledgers: string[]; accountsCreated: number; createSeconds: number; fundSeconds: number };
  };
  points: Point[];
  pgbenchPoints: PgbenchPoint[];
  paced: Point | null;
  /** absent when the webhook scenario was not selected */
  webhook?: { points: WebhookPoint[]; paced: WebhookPoint | null };
  peakRssMb: number;
  targets: TargetCheck[];
  serviceLog: { linesAtWarnOrAbove: number; errorLines: number; sample: string[] };
}
