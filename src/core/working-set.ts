import { type AccountState, applyMovement, balancesView, type BalancesView, type Counters } from './balances.js';
import { AccountNotFound } from './errors.js';
import { type ChainHead, type EntryDates, type EntryFields, nextEntry } from './hash-chain.js';
import { applyLegs, counterOf, type Leg, planPostings, type PostingsRequest } from './postings.js';
import { assertActive, assertPeriodOpen, legsOf, planTransfer, type TransferRequest } from './transfer-rules.js';

export interface LockedAccount {
  state: AccountState;
  head: ChainHead;
}

export interface PlannedEntry extends EntryFields {
  /** Its account's ledger (not hashed: the chain is the account's, and the account never changes ledger). */
  ledgerId: string;
  prevHash: string;
  hash: string;
  /** The account's posted counters after this entry, so balances as of any instant need one index lookup. */
  debitsAfter: bigint;
  creditsAfter: bigint;
}

export interface AccountChange {
  id: string;
  /** The version the row had when it was locked: the UPDATE checks it has not moved. */
  fromVersion: number;
  toVersion: number;
  lastHash: string;
  delta: Counters;
}

/** An account as a write that moved money leaves it (SPEC 11: every such answer carries them). */
export interface AccountAfter {
  accountId: string;
  version: number;
  balances: BalancesView;
}

export interface Checkpoint {
  readonly entries: number;
  readonly undo: number;
}

/**
 * The accounts one unit of work has locked, and everything it does to them, in memory: movements are
 * checked and applied one after another (so later transfers of a batch see earlier ones), entries are
 * chained, and what was done is written in one statement per table, at the end or in parts (`take`).
 */
export class WorkingSet {
  /** The entries planned since the last `take`. */
  readonly entries: PlannedEntry[] = [];
  private readonly accounts: Map<string, LockedAccount>;
  /** Each account as the last `take` (or the lock) left it: what `changes` are counted from. */
  private readonly original: Map<string, LockedAccount>;
  /**
   * Each account state replaced since the last `take`, in order, so that a rollback costs what was done since
   * the checkpoint; the accounts in it are the ones changed.
   */
  private readonly undo: [string, LockedAccount][] = [];

  constructor(locked: Iterable<LockedAccount>) {
    this.accounts = new Map([...locked].map((a) => [a.state.id, a]));
    this.original = new Map(this.accounts);
  }

  /**
   * The entries and account changes since the last take, leaving none behind: a group writes what it has
   * decided while it goes on deciding the rest, and each write counts from where the one before left the
   * accounts. A checkpoint does not survive a take.
   */
  take(): { entries: PlannedEntry[]; changes: AccountChange[] } {
    const taken = { entries: this.entries.splice(0), changes: this.changes() };
    for (const [id] of this.undo) this.original.set(id, this.get(id));
    this.undo.length = 0;
    return taken;
  }

  /** A point to go back to when a unit of a group is refused: its changes are dropped, earlier ones kept. */
  checkpoint(): Checkpoint {
    return { entries: this.entries.length, undo: this.undo.length };
  }

  rollback(to: Checkpoint): void {
    this.entries.length = to.entries;
    while (this.undo.length > to.undo) {
      const [id, before] = this.undo.pop()!;
      this.accounts.set(id, before);
    }
  }

  private replace(id: string, next: LockedAccount): void {
    this.undo.push([id, this.get(id)]);
    this.accounts.set(id, next);
  }

  state(id: string): AccountState | undefined {
    return this.accounts.get(id)?.state;
  }

  /** The accounts named, each once in the order first named, as they stand now. */
  accountsAfter(ids: readonly string[]): AccountAfter[] {
    return [...new Set(ids)].map((id) => {
      const { state, head } = this.get(id);
      return { accountId: id, version: head.version, balances: balancesView(state.normalBalance, state.counters) };
    });
  }

  /** Validates a new transfer against the current states (ids, currency, status, funds, overflow) and applies it. */
  open(req: TransferRequest, transferId: string, dates: EntryDates): void {
    planTransfer(req, this.state(req.debitAccountId), this.state(req.creditAccountId));
    this.apply(legsOf(req), req.pending, transferId, dates);
  }

  /**
   * Validates a new transaction against the current states (SPEC 11: balance, ids, currency, status, versions,
   * funds, overflow, conditions) and applies it: every posting reserved, or one entry per posting in their order.
   */
  openPostings(req: PostingsRequest, transactionId: string, dates: EntryDates): void {
    planPostings(req, (id) => {
      const a = this.accounts.get(id);
      return a && { state: a.state, version: a.head.version };
    });
    this.apply(req.postings, req.pending, transactionId, dates);
  }

  /** Writes the two entries of a posted movement (funds and overflow checked on each side), both or neither. */
  post(debitId: string, creditId: string, amount: bigint, transferId: string, dates: EntryDates): void {
    this.postLegs(legsOf({ debitAccountId: debitId, creditAccountId: creditId, amount }), transferId, dates);
  }

  /**
   * Posts a pending transfer: its whole reservation is released and `amount` (at most what was reserved) is
   * posted. Posting moves money, so, as for a new transfer, both accounts must still be active; voiding and
   * expiry only release, and go through on a frozen account.
   */
  settle(
    debitId: string,
    creditId: string,
    reserved: bigint,
    amount: bigint,
    transferId: string,
    at: EntryDates,
  ): void {
    const legs = (n: bigint): Leg[] => legsOf({ debitAccountId: debitId, creditAccountId: creditId, amount: n });
    this.settleLegs(legs(reserved), legs(amount), transferId, at);
  }

  /** Posts a pending movement: every account still active, `reserved` released, then `posted` judged and entered. */
  settleLegs(reserved: readonly Leg[], posted: readonly Leg[], transferId: string, at: EntryDates): void {
    assertActive([...new Set(posted.map((l) => l.accountId))].map((id) => this.get(id).state));
    this.releaseLegs(reserved);
    this.postLegs(posted, transferId, at);
  }

  /** Gives back a reservation made by a pending transfer, on both sides or neither. */
  release(debitId: string, creditId: string, amount: bigint): void {
    this.releaseLegs(legsOf({ debitAccountId: debitId, creditAccountId: creditId, amount }));
  }

  /** Gives back the reservations of a pending movement's legs. */
  releaseLegs(legs: readonly Leg[]): void {
    for (const leg of legs) {
      const a = this.get(leg.accountId);
      const counters = applyMovement(a.state, { kind: 'release', side: leg.direction, amount: leg.amount });
      this.replace(leg.accountId, { ...a, state: { ...a.state, counters } });
    }
  }

  /**
   * Judges legs as postings on the accounts' final states (funds, overflow) and their date against the period
   * closed, then enters them in their order.
   */
  private postLegs(legs: readonly Leg[], transferId: string, dates: EntryDates): void {
    applyLegs(legs, 'post', (id) => this.get(id).state);
    this.assertDated(legs, dates);
    this.enter(legs, transferId, dates);
  }

  /**
   * Applies legs already judged, once their date is in the open period: reserved (a pending movement's entries
   * will carry the date too), or entered one entry per leg in their order.
   */
  private apply(legs: readonly Leg[], pending: boolean, transferId: string, dates: EntryDates): void {
    this.assertDated(legs, dates);
    if (!pending) return this.enter(legs, transferId, dates);
    for (const leg of legs) {
      const a = this.get(leg.accountId);
      const counters = { ...a.state.counters };
      counters[counterOf('reserve', leg.direction)] += leg.amount;
      this.replace(leg.accountId, { ...a, state: { ...a.state, counters } });
    }
  }

  /**
   * One entry per leg, chained on its account in leg order. The legs were judged on the accounts' final states, so
   * an entry between two legs of one account may show a balance the whole movement does not leave (SPEC 11).
   */
  private enter(legs: readonly Leg[], transferId: string, dates: EntryDates): void {
    for (const leg of legs) {
      const account = this.get(leg.accountId);
      const counters = { ...account.state.counters };
      counters[counterOf('post', leg.direction)] += leg.amount;
      const e = nextEntry(account.state, account.head, transferId, leg.direction, leg.amount, dates, counters);
      const f = e.fields;
      // Field by field: spreading `e.fields` into this object cost more than all the rest of planning a transaction
      // (V8 clones it slowly; 32 against 14 µs for four postings, BENCHMARKS.md).
      this.entries.push({
        accountId: f.accountId,
        accountVersion: f.accountVersion,
        transferId: f.transferId,
        direction: f.direction,
        amount: f.amount,
        currency: f.currency,
        balanceAfter: f.balanceAfter,
        createdAt: f.createdAt,
        effectiveAt: f.effectiveAt,
        ledgerId: account.state.ledgerId,
        prevHash: e.prevHash,
        hash: e.hash,
        debitsAfter: e.counters.debitsPosted,
        creditsAfter: e.counters.creditsPosted,
      });
      this.replace(leg.accountId, {
        state: { ...account.state, counters: e.counters },
        head: { version: e.fields.accountVersion, lastHash: e.hash },
      });
    }
  }

  private assertDated(legs: readonly Leg[], dates: EntryDates): void {
    assertPeriodOpen(
      legs.map((l) => this.get(l.accountId).state),
      dates.effectiveAt,
    );
  }

  /** The net change per account touched since the last take, for one UPDATE. */
  changes(): AccountChange[] {
    const out: AccountChange[] = [];
    const touched = new Set(this.undo.map(([id]) => id));
    for (const [id, now] of this.accounts) {
      if (!touched.has(id)) continue;
      const before = this.original.get(id)!;
      const a = before.state.counters;
      const b = now.state.counters;
      const delta = {
        debitsPosted: b.debitsPosted - a.debitsPosted,
        creditsPosted: b.creditsPosted - a.creditsPosted,
        debitsPending: b.debitsPending - a.debitsPending,
        creditsPending: b.creditsPending - a.creditsPending,
      };
      if (Object.values(delta).every((d) => d === 0n) && now.head.version === before.head.version) continue;
      out.push({
        id,
        fromVersion: before.head.version,
        toVersion: now.head.version,
        lastHash: now.head.lastHash,
        delta,
      });
    }
    return out;
  }

  private get(id: string): LockedAccount {
    const account = this.accounts.get(id);
    if (account === undefined) throw new AccountNotFound(id);
    return account;
  }
}
