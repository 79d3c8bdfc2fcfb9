import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Agent } from 'node:http';
import { Gauge } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import type { Pool, PoolConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { CONFIG, type Config } from '../config/config.js';
import { checkout, poolOf } from '../database/pooled-client.js';
import { sequenceHorizon } from '../entries/journal-horizon.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { SYSTEM_REQUEST } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { deliver, deliveryAgent, type DeliveryResult } from './webhook-delivery.js';
import { WEBHOOK_COLUMNS, type WebhookRow } from './webhook-rows.js';

const TICK_MS = 200;
/** Webhooks delivered to at once by one instance. */
const PARALLEL = 8;
/** Events read at once for one webhook, up to one horizon. */
const BURST = 500;
/** How long one instance delivers to one webhook in a row, burst after burst, before the next tick. */
const SERVE_MS = 2000;
/**
 * The deliveries of this long are recorded together, while the next go out: what a crash can make it send again.
 * A write per delivery, waited for, would cap a webhook at the rate of group commits.
 */
const RECORD_MS = 100;
const MAX_BACKOFF_SECONDS = 3600;
// With a webhook's key, the advisory lock of its deliverer: one instance at a time delivers to a webhook, so its
// deliveries stay in seq order whatever the number of instances.
const DELIVERER_LOCK = 7_105_003;

/**
 * Where and how one webhook's deliveries go, for as long as one instance serves it: its URL parsed, its kept-alive
 * connection, and a signer per secret (the previous one until it expires).
 */
interface Destination {
  url: URL;
  agent: Agent;
  signers: { webhook: Webhook; until: Date | null }[];
}

/** One delivery attempt. */
interface Attempt {
  event: EventRow;
  result: DeliveryResult;
  attemptedAt: Date;
}

interface EventRow {
  seq: string;
  id: string;
  type: string;
  ledger_id: string;
  occurred_at: Date;
  data: unknown;
}

/**
 * The records of one webhook's deliveries, one after another in order, while the next deliveries go out: they never
 * wait for a commit. A record that fails (a fault) is kept, to be thrown once the chain is settled, never left on a
 * promise nobody is waiting for yet.
 */
class RecordChain {
  /** Set when a record found the cursor moved (a replay) or failed, or the lock was lost: nothing more is sent. */
  stale = false;
  private tail = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly write: (
      from: WebhookRow,
      through: string,
      attempts: Attempt[],
      failed: boolean,
    ) => Promise<boolean>,
  ) {}

  add(from: WebhookRow, through: string, attempts: Attempt[], failed: boolean): void {
    this.tail = this.tail
      .then(async () => {
        if (!this.stale && !(await this.write(from, through, attempts, failed))) this.stale = true;
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
        this.stale = true;
      });
  }

  /** Waits for the records sent so far; never throws. */
  settled(): Promise<void> {
    return this.tail;
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/**
 * Delivers events to webhooks (SPEC 13), on every instance, off the request path. Each tick takes the webhooks
 * that are due; for each, on a connection holding its deliverer lock, it sends the matching events after the
 * webhook's cursor (never past the events' horizon) one after another, and records the attempts through the write
 * entrance: 2xx answers move the cursor on; a failure schedules the retry (base × 2ⁿ⁻¹ s with full jitter, at most
 * an hour) or, once the first failure is older than the retry window, disables the webhook. The HTTP calls happen
 * outside any transaction; only their outcomes are written, with the cursor they were sent from as a guard
 * against a replay meanwhile. At least once: a crash between the answers and their record sends them again.
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookWorker.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /**
   * The deliverers' connections, one per webhook served at once, apart from the service's pool: each holds its
   * webhook's lock for as long as its deliveries take (up to 10 s each), which must not starve the requests.
   */
  private readonly locks: Pool;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
    @Inject(CONFIG) private readonly config: Config,
    private readonly metrics: MetricsService,
  ) {
    const shared = poolOf(db);
    this.locks = new (shared.constructor as new (o: PoolConfig) => Pool)({
      ...shared.options,
      password: shared.options.password,
      max: PARALLEL,
    });
    // A connection cut by the server is dropped by the pool (its lock dies with it); unheard, it would crash.
    this.locks.on('error', () => {});
    // Read at each scrape, from the database, so every instance reports the same figures.
    new Gauge({
      name: 'ledger_events_last_seq',
      help: 'The seq of the newest event written (its rate is the events written per second)',
      registers: [metrics.registry],
      async collect() {
        const [row] = await db.query<{ seq: string | null }[]>(`SELECT max(seq)::text AS seq FROM events`);
        this.set(Number(row?.seq ?? 0));
      },
    });
    // Both per enabled webhook, from the same query at each scrape: the seconds between its oldest undelivered event
    // and the newest event it subscribes to (how far behind it is), and how long that oldest one has waited.
    const perWebhook = async (): Promise<{ id: string; behind: number; waited: number }[]> =>
      db.query(
        `SELECT w.id,
           coalesce(extract(epoch FROM n.at - o.at), 0)::float8 AS behind,
           coalesce(extract(epoch FROM now() - o.at), 0)::float8 AS waited
         FROM webhooks w
         LEFT JOIN LATERAL (SELECT e.occurred_at AS at FROM events e WHERE e.seq > w.after_seq
           AND e.type = ANY(w.types) AND (w.ledger_id IS NULL OR e.ledger_id = w.ledger_id) ORDER BY e.seq LIMIT 1) o ON true
         LEFT JOIN LATERAL (SELECT e.occurred_at AS at FROM events e WHERE e.seq > w.after_seq
           AND e.type = ANY(w.types) AND (w.ledger_id IS NULL OR e.ledger_id = w.ledger_id) ORDER BY e.seq DESC LIMIT 1) n
           ON true
         WHERE NOT w.disabled AND NOT w.deleted`,
      );
    const perWebhookGauge = (name: string, help: string, figure: 'behind' | 'waited'): void => {
      new Gauge({
        name,
        help,
        labelNames: ['webhook'] as const,
        registers: [metrics.registry],
        async collect() {
          const rows = await perWebhook();
          this.reset();
          for (const r of rows) this.labels(r.id).set(r[figure]);
        },
      });
    };
    perWebhookGauge(
      'ledger_webhook_lag_seconds',
      'Per enabled webhook: seconds from its oldest undelivered event to the newest event it subscribes to (0: caught up)',
      'behind',
    );
    perWebhookGauge(
      'ledger_webhook_oldest_undelivered_seconds',
      'Per enabled webhook: how long its oldest undelivered event has waited (0: nothing waiting)',
      'waited',
    );
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((error: unknown) => this.logger.warn(`webhook deliveries: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, TICK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.locks.end();
  }

  private async tick(): Promise<void> {
    const due = await this.db.query<{ id: string }[]>(
      `SELECT id FROM webhooks WHERE NOT disabled AND NOT deleted AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT 100`,
    );
    for (let i = 0; i < due.length && !this.stopped; i += PARALLEL) {
      await Promise.all(due.slice(i, i + PARALLEL).map((w) => this.serve(w.id)));
    }
  }

  /**
   * Delivers to one webhook, if no other instance is: bursts of up to BURST events after its cursor, each read at
   * once up to one horizon and sent in order, back to back for as long as it keeps finding full bursts (at most
   * SERVE_MS, so that the other webhooks get their turn), stopping at the first failure. The attempts of each
   * RECORD_MS are recorded together, in order, while the next ones go out: a crash before a record sends its
   * events again, in order (at least once).
   */
  private async serve(id: string): Promise<void> {
    const lease = await checkout(this.locks);
    const { client, release } = lease;
    // The deliverer reads on its own connection: the requests' pool is not kept waiting, and each burst's reads
    // show the connection, and with it the webhook's lock, still alive.
    const onLease = {
      query: (async (text: string, values?: unknown[]): Promise<unknown> =>
        (await client.query<object>(text, values)).rows) as DataSource['query'],
    };
    let locked = false;
    let destination: Destination | undefined;
    try {
      locked = (
        await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [DELIVERER_LOCK, id])
      ).rows[0]!.ok;
      if (!locked) return;
      const [found] = await onLease.query<WebhookRow[]>(
        `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND NOT disabled AND NOT deleted AND next_attempt_at <= now()`,
        [id],
      );
      if (found === undefined) return;
      let hook = found;
      destination = {
        url: new URL(hook.url),
        agent: deliveryAgent(hook.url),
        signers: [
          { webhook: new Webhook(hook.secret), until: null },
          ...(hook.previous_secret === null || hook.previous_secret_until === null
            ? []
            : [{ webhook: new Webhook(hook.previous_secret), until: hook.previous_secret_until }]),
        ],
      };
      const records = new RecordChain((from, through, attempts, failed) =>
        this.record(from, through, attempts, failed),
      );
      try {
        for (const until = Date.now() + SERVE_MS; !this.stopped && !records.stale && Date.now() < until;) {
          const horizon = await sequenceHorizon(onLease, 'events_seq_seq');
          if (horizon === undefined || horizon <= BigInt(hook.after_seq)) break;
          const events = await onLease.query<EventRow[]>(
            `SELECT seq, id, type, ledger_id, occurred_at, data FROM events
             WHERE seq > $1::bigint AND seq <= $2::bigint AND type = ANY($3::text[])
               AND ($4::uuid IS NULL OR ledger_id = $4::uuid)
             ORDER BY seq LIMIT ${BURST}`,
            [hook.after_seq, horizon.toString(), hook.types, hook.ledger_id],
          );
          const next = await this.deliverBurst(hook, horizon, events, destination, lease, records);
          if (next === undefined) break;
          hook = next;
        }
      } finally {
        await records.settled();
      }
      records.throwIfFailed();
    } finally {
      let broken = false;
      if (locked) {
        await client.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [DELIVERER_LOCK, id]).catch(() => {
          broken = true;
        });
      }
      destination?.agent.destroy();
      release(broken);
    }
  }

  /**
   * Sends one burst's events in order, handing the attempts of each RECORD_MS to `records`. Resolves to the webhook
   * moved past the burst, or to undefined when serving it stops here: a failure, all there was up to the horizon,
   * a shutdown, or a stale cursor.
   */
  private async deliverBurst(
    start: WebhookRow,
    horizon: bigint,
    events: EventRow[],
    destination: Destination,
    lease: { readonly failed: boolean },
    records: RecordChain,
  ): Promise<WebhookRow | undefined> {
    let hook = start;
    let i = 0;
    do {
      const attempts: Attempt[] = [];
      let failed = false;
      for (const recordBy = Date.now() + RECORD_MS; i < events.length && Date.now() < recordBy; i++) {
        if (this.stopped || records.stale) break;
        // Still this webhook's deliverer: a session lock lasts as long as its connection. The reads showed it alive
        // a moment ago; one the server cut since then (a fault) has reported its error, and no more is sent before
        // another instance's deliveries could interleave with ours. The records not yet sent are dropped too:
        // another instance may already be delivering from the cursor, and moving it on under that instance would
        // make it resend what it has just sent.
        if (lease.failed) {
          records.stale = true;
          throw new Error('the deliverer lost its connection, and with it the webhook lock');
        }
        const event = events[i]!;
        const attemptedAt = new Date();
        const result = await this.send(destination, event);
        const outcome =
          result.error === null ? 'delivered' : result.error.startsWith('refused:') ? 'refused' : 'failed';
        this.metrics.webhookDeliveries.labels(outcome).inc();
        attempts.push({ event, result, attemptedAt });
        failed = result.error !== null;
        if (failed) break;
      }
      // All there was up to the horizon, delivered: the cursor moves there, so the next look starts after the
      // events that do not match.
      const complete = !failed && i === events.length && events.length < BURST;
      const delivered = attempts.filter((a) => a.result.error === null);
      const through = complete ? horizon.toString() : (delivered.at(-1)?.event.seq ?? hook.after_seq);
      if (attempts.length > 0 || through !== hook.after_seq) records.add(hook, through, attempts, failed);
      if (failed || complete || this.stopped || records.stale) return undefined;
      hook = { ...hook, after_seq: through, attempts: 0 };
    } while (i < events.length);
    return hook;
  }

  private send(to: Destination, event: EventRow): Promise<DeliveryResult> {
    const body = JSON.stringify({
      id: event.id,
      seq: event.seq,
      type: event.type,
      ledgerId: event.ledger_id,
      occurredAt: event.occurred_at.toISOString(),
      data: event.data,
    });
    const at = new Date();
    // Standard Webhooks: every current secret signs; receivers accept any one signature they can verify.
    const signature = to.signers
      .filter((s) => s.until === null || s.until > at)
      .map((s) => s.webhook.sign(event.id, at, body))
      .join(' ');
    return deliver(
      to.url,
      body,
      {
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
        'user-agent': 'ledger-service-webhooks',
      },
      this.config.webhookAllowPrivate,
      to.agent,
    );
  }

  /**
   * Attempts sent in a row, through the write entrance: their delivery rows, and the webhook moved on to
   * `through`, then, if the last attempt failed, scheduled for a retry (or disabled once it has been failing for
   * longer than the retry window). Guarded by the cursor they were sent from: false when a replay moved it
   * meanwhile, and nothing of the webhook was changed.
   */
  private async record(hook: WebhookRow, through: string, attempts: Attempt[], failed: boolean): Promise<boolean> {
    const base = this.config.webhookRetryBaseSeconds;
    const windowSeconds = this.config.webhookRetryWindowSeconds;
    // A failure right after deliveries is this event's first: its count and its window start again.
    const moved = through !== hook.after_seq;
    const attemptsBefore = moved ? 0 : hook.attempts;
    const backoff = Math.min(MAX_BACKOFF_SECONDS, base * 2 ** attemptsBefore) * Math.random();
    const outcome = await this.writes.submit(SYSTEM_REQUEST, {
      run: async (tx) => {
        if (attempts.length > 0) {
          tx.write(
            `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_seq, attempted_at, status_code, duration_ms, error)
             SELECT gen_random_uuid(), $1, * FROM unnest($2::uuid[], $3::bigint[], $4::timestamptz[], $5::int[],
               $6::int[], $7::text[])`,
            [
              hook.id,
              attempts.map((a) => a.event.id),
              attempts.map((a) => a.event.seq),
              attempts.map((a) => a.attemptedAt),
              attempts.map((a) => a.result.statusCode),
              attempts.map((a) => a.result.durationMs),
              attempts.map((a) => a.result.error),
            ],
          );
        }
        const [updated] = !failed
          ? await tx.query(
              `UPDATE webhooks SET after_seq = $3, attempts = 0, failing_since = NULL, next_attempt_at = now()
               WHERE id = $1 AND after_seq = $2 RETURNING id`,
              [hook.id, hook.after_seq, through],
            )
          : await tx.query(
              `UPDATE webhooks SET after_seq = $3, attempts = $4 + 1,
                 failing_since = CASE WHEN $5 THEN now() ELSE coalesce(failing_since, now()) END,
                 next_attempt_at = now() + make_interval(secs => $6),
                 disabled = NOT $5 AND coalesce(failing_since, now()) <= now() - make_interval(secs => $7),
                 disabled_reason = CASE WHEN NOT $5 AND coalesce(failing_since, now()) <= now() - make_interval(secs => $7)
                   THEN 'failing for longer than the retry window' END
               WHERE id = $1 AND after_seq = $2 RETURNING id`,
              [hook.id, hook.after_seq, through, attemptsBefore, moved, backoff, windowSeconds],
            );
        return updated !== undefined;
      },
    });
    return 'value' in outcome && outcome.value;
  }
}
