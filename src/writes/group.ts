import { appendToLog, type Change, type LogAppend } from '../admin-log/admin-log-chain.js';
import { LedgerError } from '../core/errors.js';
import { appendEvents, type EventDraft, eventOfChange } from '../events/event-rows.js';
import { GroupKeys, type NewOutcome, type Outcome, outcomesInsert } from './idempotency.js';
import type { Tx } from './serializable.js';
import type { WriteRequest } from './write-request.js';

/**
 * A write that runs alone, under a savepoint of its group's transaction: it locks, checks, writes, returns its
 * result. What it changes that is not a ledger entry it reports with `log` (SPEC 10's administrative log), and
 * the events of its money movements with `emit` (SPEC 13; a logged change that is an event is one already); the
 * group appends those records and events only if the unit commits.
 */
export type UseCase<T> = (tx: Tx, log: (change: Change) => void, emit: (event: EventDraft) => void) => Promise<T>;

/**
 * A kind of write whose requests are decided one after another in memory and written together, one statement per
 * table for the whole group (new transfers). A refused request is undone in memory alone, so it never fails its
 * neighbours.
 */
export interface BulkUseCase<I, S> {
  /** Sends every read the inputs need at once (the transaction is pipelined); resolves to what they are decided against. */
  read(tx: Tx, inputs: readonly I[]): Promise<S>;
  /** Decides one input against the state and applies it there; a LedgerError refuses it and leaves the state as it was. */
  decide(state: S, input: I): unknown;
  /**
   * Writes (pipelined) what was decided since its last write, with the outcomes to store under their keys, which it
   * takes out of `keys` when it writes. Called after each decided input (it may wait for more) and once at the end
   * (`final`), when it must write whatever is left.
   */
  write(tx: Tx, state: S, keys: NewOutcome[], final: boolean): void;
  /** The events (SPEC 13) of one input's result, once decided and kept (not a refusal). */
  events(result: unknown): EventDraft[];
}

/**
 * What a caller hands the write entrance: a use case to run alone, or one input of a bulk use case. A use case that
 * logs says so (`logged`): its group then holds the log's writer lock, so appends never race for the log's end.
 */
export type Work<T> =
  { run: UseCase<T>; logged?: boolean } | { bulk: BulkUseCase<unknown, unknown>; input: unknown; weight: number };

export interface GroupUnit {
  request: WriteRequest;
  work: Work<unknown>;
}

/**
 * Runs one group of writes inside its SERIALIZABLE transaction, the way every write goes (as Formance's one write
 * path): look up every idempotency key of the group, run each unit that is not answered by its key, and store each
 * keyed outcome (a result or a refusal) in the same transaction as the effect it guards. Bulk units come first,
 * each kind decided in memory and written together; the others run each under a savepoint. Whatever fails for
 * another reason than a ledger refusal is thrown, and `blame` names the units it is the fault of (none: all).
 */
export async function runGroup(
  tx: Tx,
  units: readonly GroupUnit[],
  blame: (culprits: readonly GroupUnit[]) => void,
): Promise<Map<GroupUnit, Outcome>> {
  const bulks = new Map<BulkUseCase<unknown, unknown>, GroupUnit[]>();
  const singles: { unit: GroupUnit; run: UseCase<unknown> }[] = [];
  for (const unit of units) {
    if ('run' in unit.work) {
      singles.push({ unit, run: unit.work.run });
    } else {
      const members = bulks.get(unit.work.bulk) ?? [];
      members.push(unit);
      bulks.set(unit.work.bulk, members);
    }
  }
  // The keys and every bulk's reads leave together: one round trip.
  const [keys, ...states] = await Promise.all([
    GroupKeys.read(
      tx,
      units.map((u) => u.request),
    ),
    ...[...bulks].map(([bulk, members]) => bulk.read(tx, members.map(inputOf))),
  ]);
  const out = new Map<GroupUnit, Outcome>();
  // Every event of the units that commit, in the order they were decided: written once, at the end (SPEC 13).
  const events: EventDraft[] = [];
  let left = bulks.size;
  for (const [bulk, members] of bulks) {
    const state = states[bulks.size - left];
    // A bulk's writes are pipelined: they fail at the flush before the next piece of work, or at COMMIT when
    // nothing follows, and either way they are this bulk's failure.
    blame(members);
    const stored: NewOutcome[] = [];
    for (const unit of members) {
      let outcome = keys.answered(unit.request);
      if (outcome === undefined) {
        const ran = keys.ran(
          unit.request,
          decided(unit.request, () => bulk.decide(state, inputOf(unit))),
        );
        outcome = ran.outcome;
        if ('value' in outcome) events.push(...bulk.events(outcome.value));
        if (ran.row !== undefined) stored.push(ran.row);
        bulk.write(tx, state, stored, false);
      }
      out.set(unit, outcome);
    }
    bulk.write(tx, state, stored, true);
    if (--left > 0 || singles.length > 0) await tx.flush();
  }
  if (singles.length > 0) blame([]);
  const stored: NewOutcome[] = [];
  const logged: LogAppend[] = [];
  for (const { unit, run } of singles) {
    let outcome = keys.answered(unit.request);
    if (outcome === undefined) {
      const changes: Change[] = [];
      const emitted: EventDraft[] = [];
      const log = (change: Change): void => {
        if (!('logged' in unit.work && unit.work.logged === true))
          throw new Error(`${change.action}: not a logged write`);
        changes.push(change);
      };
      // Sent without waiting for it; RELEASE waits, so a write of this unit that failed is blamed on it.
      tx.write('SAVEPOINT unit');
      try {
        outcome = { value: await run(tx, log, (e) => emitted.push(e)), replayed: false };
        await tx.query('RELEASE SAVEPOINT unit');
        const { actor, requestId } = unit.request;
        for (const change of changes) {
          logged.push({ change, actor, requestId });
          const event = eventOfChange(change);
          if (event !== undefined) events.push(event);
        }
        events.push(...emitted);
      } catch (error) {
        if (!(error instanceof LedgerError)) {
          blame([unit]);
          throw error;
        }
        await tx.query('ROLLBACK TO SAVEPOINT unit');
        outcome = refused(unit.request, error);
      }
      const ran = keys.ran(unit.request, outcome);
      outcome = ran.outcome;
      if (ran.row !== undefined) stored.push(ran.row);
    }
    out.set(unit, outcome);
  }
  if (stored.length > 0) {
    const insert = outcomesInsert(stored);
    tx.write(insert.sql, insert.values);
  }
  appendEvents(tx, events, new Date());
  if (logged.length > 0) {
    blame([]);
    await appendToLog(tx, logged);
  }
  return out;
}

function inputOf(unit: GroupUnit): unknown {
  if ('run' in unit.work) throw new Error('not a bulk unit');
  return unit.work.input;
}

function decided(request: WriteRequest, decide: () => unknown): Outcome {
  try {
    return { value: decide(), replayed: false };
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return refused(request, error);
  }
}

const refused = (request: WriteRequest, error: LedgerError): Outcome => ({
  refusal: error,
  requestId: request.requestId,
  replayed: false,
});
