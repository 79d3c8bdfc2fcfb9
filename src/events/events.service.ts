import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { LedgerScope } from '../core/ledger-scope.js';
import { poolOf } from '../database/pooled-client.js';
import { sequenceHorizon } from '../entries/journal-horizon.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import type { EventType } from './event-rows.js';
import type { EventPage, EventQuery, EventView } from './events.dto.js';

/** Long polls waiting at once on one instance, at most; past it a poll answers at once, as with no wait. */
export const MAX_WAITING = 256;
const RELISTEN_MS = 1000;

interface EventRow {
  seq: string;
  id: string;
  type: EventType;
  ledger_id: string;
  occurred_at: Date;
  data: unknown;
}

/**
 * The outbox read as a feed (SPEC 13): in seq order, never past the journal's kind of horizon, so a reader that
 * pages or tails never skips an event whose transaction committed late. A long poll waits on PostgreSQL's
 * `NOTIFY ledger_events`, which the write entrance sends with every group that wrote events, delivered when it
 * commits; one LISTEN connection per instance wakes every waiting poll.
 */
@Injectable()
export class EventsService implements OnModuleInit, OnApplicationShutdown {
  private readonly waiting = new Set<() => void>();
  private listener: pg.Client | undefined;
  private stopped = false;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    void this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting) wake();
    await this.listener?.end().catch(() => {});
  }

  async list(q: EventQuery, scope: LedgerScope): Promise<EventPage> {
    const deadline = Date.now() + (q.waitSeconds ?? 0) * 1000;
    let after = q.after ?? '0';
    for (;;) {
      // Registered before reading, so that an event committed between the read and the wait still wakes it.
      const wake = this.nextWake(deadline);
      try {
        const page = await this.page({ ...q, after }, scope);
        if (page.data.length > 0 || wake === undefined || Date.now() >= deadline) return page;
        await wake.woken;
        after = page.lastSeq;
      } finally {
        wake?.cancel();
      }
    }
  }

  private async page(q: EventQuery & { after: string }, scope: LedgerScope): Promise<EventPage> {
    const horizon = await sequenceHorizon(this.db, 'events_seq_seq');
    if (horizon === undefined || horizon <= BigInt(q.after)) return { data: [], nextCursor: null, lastSeq: q.after };
    const rows = await this.db.query<EventRow[]>(
      `SELECT seq, id, type, ledger_id, occurred_at, data FROM events
       WHERE seq > $1::bigint AND seq <= $2::bigint AND ($3::text[] IS NULL OR type = ANY($3::text[]))
         AND ($4::text IS NULL OR ledger_id = (${ledgerByRef(4)})) AND ${inScope('ledger_id', 5)}
       ORDER BY seq LIMIT $6`,
      [q.after, horizon.toString(), q.types ?? null, q.ledgerId ?? null, scope.ids, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const full = rows.length > q.limit;
    const last = page[page.length - 1]?.seq;
    return {
      data: page.map(eventView),
      nextCursor: full ? last! : null,
      lastSeq: full ? last! : horizon.toString(),
    };
  }

  /** A wait for the next notification, or the deadline; none when the poll does not wait or too many do. */
  private nextWake(deadline: number): { woken: Promise<void>; cancel: () => void } | undefined {
    const left = deadline - Date.now();
    if (left <= 0 || this.stopped || this.waiting.size >= MAX_WAITING) return undefined;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const timer = setTimeout(wake, left);
    this.waiting.add(wake);
    return {
      woken,
      cancel: () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
      },
    };
  }

  /** LISTENs on a connection of its own, and again after losing it (meanwhile polls wait out their time). */
  private async listen(): Promise<void> {
    if (this.stopped) return;
    const options = poolOf(this.db).options;
    const client = new pg.Client({ ...options, password: options.password });
    client.on('notification', () => {
      for (const wake of this.waiting) wake();
    });
    const again = (): void => {
      if (this.listener === client) this.listener = undefined;
      if (!this.stopped) setTimeout(() => void this.listen(), RELISTEN_MS).unref();
    };
    client.on('error', () => void client.end().catch(() => {}));
    client.on('end', again);
    try {
      await client.connect();
      await client.query('LISTEN ledger_events');
      this.listener = client;
      if (this.stopped) await client.end();
    } catch {
      await client.end().catch(() => {});
    }
  }
}

function eventView(row: EventRow): EventView {
  return {
    id: row.id,
    seq: row.seq,
    type: row.type,
    ledgerId: row.ledger_id,
    occurredAt: row.occurred_at.toISOString(),
    data: row.data,
  };
}
