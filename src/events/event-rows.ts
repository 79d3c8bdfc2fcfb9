import type { Change } from '../admin-log/admin-log-chain.js';
import type { Tx } from '../writes/serializable.js';

/** Every kind of change that is an event (SPEC 13), in the order the SPEC lists them. */
export const EVENT_TYPES = [
  'account.created',
  'account.updated',
  'transfer.created',
  'transfer.posted',
  'transfer.voided',
  'transfer.expired',
  'transfer.reversed',
  'transaction.created',
  'transaction.posted',
  'transaction.voided',
  'transaction.expired',
  'transaction.reversed',
  'ledger.created',
  'ledger.closed',
  'balance.monitor.triggered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as a use case reports it; the write entrance gives it its id, seq and instant. */
export interface EventDraft {
  type: EventType;
  ledgerId: string;
  /** The resource as its GET shows it right after the change. */
  data: unknown;
}

/** The changes of the administrative log that are events too: the resource as logged after the change. */
const LOGGED_EVENTS: Partial<Record<Change['action'], EventType>> = {
  'account.created': 'account.created',
  'account.updated': 'account.updated',
  'ledger.created': 'ledger.created',
  'ledger.closed': 'ledger.closed',
};

export function eventOfChange(change: Change): EventDraft | undefined {
  const type = LOGGED_EVENTS[change.action];
  if (type === undefined || change.ledgerId === null) return undefined;
  return { type, ledgerId: change.ledgerId, data: change.after };
}

/**
 * The resource of a write's answer as its GET shows it: without what only the write's answer carries (the
 * accounts it left, a dry run's mark).
 */
export function resourceOf(answer: object): object {
  // Not a copy and `delete`: that leaves V8 a slow object, which the event's JSON then costs twice as much to write.
  const { accounts, dryRun, ...resource } = answer as { accounts?: unknown; dryRun?: unknown };
  return resource;
}

/**
 * Appends a group's events in one statement, in the order reported, and wakes the long-polls of every instance
 * (`LISTEN ledger_events`): PostgreSQL delivers the notification only if the transaction commits. Pipelined like
 * the group's other writes.
 */
export function appendEvents(tx: Tx, events: readonly EventDraft[], at: Date): void {
  if (events.length === 0) return;
  tx.write(
    `WITH woken AS (SELECT pg_notify('ledger_events', ''))
     INSERT INTO events (id, type, ledger_id, occurred_at, data)
     SELECT gen_random_uuid(), e.v ->> 'type', (e.v ->> 'ledgerId')::uuid, $2, e.v -> 'data'
     FROM woken, jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n)
     ORDER BY e.n`,
    [JSON.stringify(events), at],
    'events_insert',
  );
}
