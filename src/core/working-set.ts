import {
  type AccountState,
  applyMovement,
  balancesView,
  type BalancesView,
  type Counters,
  type Side,
} from './balances.js';
import { AccountNotFound } from './errors.js';
import { type ChainHead, type EntryFields, nextEntry } from './hash-chain.js';
import { assertActive, planTransfer, type TransferRequest } from './transfer-rules.js';

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
  open(req: TransferRequest, transferId: string, createdAt: string): void {
    planTransfer(req, this.state(req.debitAccountId), this.state(req.creditAccountId));
    if (req.pending) {
      // planTransfer has already checked both reservations, so neither of these can fail.
      this.reserve(req.debitAccountId, 'debit', req.amount);
      this.reserve(req.creditAccountId, 'credit', req.amount);
    } else {
      this.post(req.debitAccountId, req.creditAccountId, req.amount, transferId, createdAt);
    }
  }

  /** Writes the two entries of a posted movement (funds and overflow checked on each side), both or neither. */
  post(debitId: string, creditId: string, amount: bigint, transferId: string, createdAt: string): void {
    const sides = (
      [
        [debitId, 'debit'],
        [creditId, 'credit'],
      ] as const
    ).map(([id, side]) => {
      const account = this.get(id);
      return { id, e: nextEntry(account.state, account.head, transferId, side, amount, createdAt), account };
    });
    for (const { id, e, account } of sides) {
      this.entries.push({
        ...e.fields,
        ledgerId: account.state.ledgerId,
        prevHash: e.prevHash,
        hash: e.hash,
        debitsAfter: e.counters.debitsPosted,
        creditsAfter: e.counters.creditsPosted,
      });
      this.replace(id, {
        state: { ...account.state, counters: e.counters },
        head: { version: e.fields.accountVersion, lastHash: e.hash },
      });
    }
  }

  /**
   * Posts a pending transfer: its whole reservation is released and `amount` (at most what was reserved) is
   * posted. Posting moves money, so, as for a new transfer, both accounts must still be active; voiding and
   * expiry only release, and go through on a frozen account.
   */
  settle(debitId: string, creditId: string, reserved: bigint, amount: bigint, transferId: string, at: string): void {
    assertActive([this.get(debitId).state, this.get(creditId).state]);
    this.release(debitId, creditId, reserved);
    this.post(debitId, creditId, amount, transferId, at);
  }

  /** Gives back a reservation made by a pending transfer, on both sides or neither. */
  release(debitId: string, creditId: string, amount: bigint): void {
    const debit = this.get(debitId);
    const credit = this.get(creditId);
    const debitCounters = applyMovement(debit.state, { kind: 'release', side: 'debit', amount });
    const creditCounters = applyMovement(credit.state, { kind: 'release', side: 'credit', amount });
    this.replace(debitId, { ...debit, state: { ...debit.state, counters: debitCounters } });
    this.replace(creditId, { ...credit, state: { ...credit.state, counters: creditCounters } });
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

  private reserve(id: string, side: Side, amount: bigint): void {
    const account = this.get(id);
    this.replace(id, {
      ...account,
      state: { ...account.state, counters: applyMovement(account.state, { kind: 'reserve', side, amount }) },
    });
  }

  private get(id: string): LockedAccount {
    const account = this.accounts.get(id);
    if (account === undefined) throw new AccountNotFound(id);
    return account;
  }
}
