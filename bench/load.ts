import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';

/** One request of a scenario: a POST body already serialised, and how many transfers it carries. */
export interface Shot {
  path: string;
  body: string;
  transfers: number;
  /** Whose request it is, when not the load's own token's. */
  token?: string;
}

export interface LoadSpec {
  pool: Pool;
  token: string;
  /** Concurrent clients: each has at most one request in flight. */
  clients: number;
  seconds: number;
  /** Idempotency-Key prefix; a counter makes every request's key unique. */
  keyPrefix: string;
  next: () => Shot;
  /**
   * Open loop: requests are scheduled at this many per second whatever the answers' latency, and latency is
   * measured from the scheduled instant (so a stall of the service is not hidden by clients waiting on it).
   * Unset: closed loop, each client sends its next request as soon as the previous one is answered.
   */
  ratePerSecond?: number;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  okRequests: number;
  failedRequests: number;
  transfers: number;
  transfersPerSecond: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Failed requests by "<status> <code>", or by the client-side error code when no answer came. */
  errors: Record<string, number>;
  /** Open loop only: requests that started more than 1 ms after their scheduled instant. */
  lateStarts?: number;
}

export async function drive(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let requests = 0;
  let okRequests = 0;
  let transfers = 0;
  let seq = 0;
  let slot = 0;
  let lateStarts = 0;
  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  const interval = spec.ratePerSecond === undefined ? undefined : 1000 / spec.ratePerSecond;
  const auth = `Bearer ${spec.token}`;

  const client = async (): Promise<void> => {
    for (;;) {
      let scheduled: number | undefined;
      if (interval !== undefined) {
        scheduled = start + slot++ * interval;
        if (scheduled >= deadline) return;
        const wait = scheduled - performance.now();
        if (wait > 1) await sleep(wait);
        else if (wait < -1) lateStarts++;
      } else if (performance.now() >= deadline) {
        return;
      }
      const shot = spec.next();
      const sent = performance.now();
      requests++;
      let outcome: string | undefined;
      try {
        const res = await spec.pool.request({
          method: 'POST',
          path: shot.path,
          headers: {
            'content-type': 'application/json',
            authorization: shot.token === undefined ? auth : `Bearer ${shot.token}`,
            'idempotency-key': `${spec.keyPrefix}-${seq++}`,
          },
          body: shot.body,
        });
        const text = await res.body.text();
        if (res.statusCode === 201) {
          okRequests++;
          transfers += shot.transfers;
        } else {
          outcome = `${res.statusCode} ${problemCode(text)}`;
        }
      } catch (error) {
        outcome = (error as { code?: string }).code ?? (error as Error).name ?? 'ERROR';
      }
      latencies.push(performance.now() - (scheduled ?? sent));
      if (outcome !== undefined) errors[outcome] = (errors[outcome] ?? 0) + 1;
    }
  };

  await Promise.all(Array.from({ length: spec.clients }, client));
  const seconds = (performance.now() - start) / 1000;
  const failedRequests = requests - okRequests;
  return {
    seconds,
    requests,
    okRequests,
    failedRequests,
    transfers,
    transfersPerSecond: transfers / seconds,
    requestsPerSecond: requests / seconds,
    latencyMs: summarise(latencies),
    errors,
    ...(interval === undefined ? {} : { lateStarts }),
  };
}

function problemCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'NO_CODE';
  } catch {
    return 'NOT_JSON';
  }
}

export function summarise(values: number[]): LoadResult['latencyMs'] {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: sorted[sorted.length - 1]!, mean };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
