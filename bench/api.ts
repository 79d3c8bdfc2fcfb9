import { Pool } from 'undici';

/** A keep-alive HTTP/1.1 connection pool to the service, sized to the number of concurrent clients. */
export function openPool(url: string, connections: number): Pool {
  return new Pool(url, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
}

export interface Reply {
  status: number;
  body: unknown;
}

export async function call(
  pool: Pool,
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string; key?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  const res = await pool.request({
    method,
    path,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: res.statusCode, body };
}

/** `call`, but anything other than the expected status is an error naming the request and the answer. */
export async function expect<T>(
  pool: Pool,
  status: number,
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string; key?: string; body?: unknown } = {},
): Promise<T> {
  const reply = await call(pool, method, path, opts);
  if (reply.status !== status) {
    throw new Error(`${method} ${path}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body as T;
}

export async function login(pool: Pool, username: string, password: string): Promise<string> {
  const body = await expect<{ accessToken: string }>(pool, 200, 'POST', '/v1/auth/token', {
    body: { username, password },
  });
  return body.accessToken;
}

/** Sums of the service's counters that matter to the benchmark, from GET /metrics. */
export interface Counters {
  /** ledger_transaction_retries_total by sqlstate */
  retries: Record<string, number>;
  /** ledger_transaction_retries_exhausted_total */
  exhausted: number;
  /** prom-client's default process metrics: V8 heap (total, used) and external memory, MiB */
  heapMb: { total: number; used: number; external: number };
  /**
   * ledger_group_commit_units (sum, count) and ledger_group_commit_duration_seconds (sum, and the count above its
   * 50 ms bucket: the stalls that every request queued behind a group waits out)
   */
  groups: { units: number; count: number; seconds: number; over50Ms: number };
}

export async function counters(pool: Pool): Promise<Counters> {
  const reply = await call(pool, 'GET', '/metrics');
  const text = String(reply.body);
  const retries: Record<string, number> = {};
  for (const m of text.matchAll(/^ledger_transaction_retries_total\{sqlstate="([^"]+)"\} (\S+)$/gm)) {
    retries[m[1]!] = Number(m[2]);
  }
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const exhausted = gauge('ledger_transaction_retries_exhausted_total') || 0;
  const mb = 2 ** 20;
  return {
    retries,
    exhausted,
    heapMb: {
      total: gauge('nodejs_heap_size_total_bytes') / mb,
      used: gauge('nodejs_heap_size_used_bytes') / mb,
      external: gauge('nodejs_external_memory_bytes') / mb,
    },
    groups: {
      units: gauge('ledger_group_commit_units_sum'),
      count: gauge('ledger_group_commit_units_count'),
      seconds: gauge('ledger_group_commit_duration_seconds_sum'),
      over50Ms:
        gauge('ledger_group_commit_duration_seconds_count') -
        gauge('ledger_group_commit_duration_seconds_bucket\\{le="0.05"\\}'),
    },
  };
}

export function countersDelta(before: Counters, after: Counters): Counters {
  const retries: Record<string, number> = {};
  for (const [state, n] of Object.entries(after.retries)) {
    const d = n - (before.retries[state] ?? 0);
    if (d > 0) retries[state] = d;
  }
  return {
    retries,
    exhausted: after.exhausted - before.exhausted,
    heapMb: after.heapMb,
    groups: {
      units: after.groups.units - before.groups.units,
      count: after.groups.count - before.groups.count,
      seconds: after.groups.seconds - before.groups.seconds,
      over50Ms: after.groups.over50Ms - before.groups.over50Ms,
    },
  };
}
