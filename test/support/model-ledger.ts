import type { ActorShown } from './auth.js';
/**
 * The in-memory model of the ledger that test/model.e2e-spec.ts runs the service against (issue #7).
 * Written from SPEC sections 2, 5 and 6 alone, deliberately without importing anything from src/, so that
 * a bug in the service's core cannot hide by being shared with its model.
 */

export const INT64_MAX = 9223372036854775807n;

export type Side = 'debit' | 'credit';
export type TransferStatus = 'pending' | 'posted' | 'voided';

export interface Counters {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface ModelAccount {
  id: string;
  currency: string;
  normalBalance: Side;
  /** SPEC 12: as opened, or `unclassified`. */
  type: string;
  allowNegative: boolean;
  status: 'active';
  counters: Counters;
  /** Ledger entries written for the account: the API's `version`. */
  entries: number;
}

export interface ModelTransfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
  status: TransferStatus;
  postedAmount: bigint;
  reversedAmount: bigint;
  description: string | null;
  batchId: string | null;
  reversalOf: string | null;
  createdAt: string;
  postedAt: string | null;
  createdBy: ActorShown;
  postedBy: ActorShown | null;
  voidedBy: ActorShown | null;
}

/** A keyed request and the first answer to it, which every replay must repeat. */
export interface ModelKey {
  key: string;
  method: 'POST';
  path: string;
  body: unknown;
  status: number;
  response: unknown;
  text: string;
  /** Accounts and transfers the first request concerned, re-read after a replay to see nothing moved. */
  accounts: string[];
  transfers: string[];
}

/** A posting as sent and shown back (SPEC 11). */
export interface ModelPosting {
  accountId: string;
  direction: Side;
  amount: string;
  currency: string;
  lockVersion?: number;
  conditions?: { available?: { gte?: string; lte?: string } };
}

export interface ModelTransaction {
  id: string;
  postings: ModelPosting[];
  status: TransferStatus;
  reversalOf: string | null;
  reversedBy: string | null;
  description: string | null;
  createdAt: string;
  postedAt: string | null;
  createdBy: ActorShown;
  postedBy: ActorShown | null;
  voidedBy: ActorShown | null;
}

/** What the database should hold beyond what it held when the run began. */
export interface ModelCounts {
  accounts: number;
  transfers: number;
  transactions: number;
  entries: number;
  keys: number;
}

export interface Model {
  /** Unique per run: idempotency keys are prefixed with it, so runs sharing one database never collide. */
  runTag: string;
  accounts: ModelAccount[];
  transfers: ModelTransfer[];
  transactions: ModelTransaction[];
  keys: ModelKey[];
  counts: ModelCounts;
  nextKey: number;
  /** Who the run's requests are made by: every write records it. */
  actor: ActorShown;
}

export function newModel(runTag: string, actor: ActorShown): Model {
  return {
    runTag,
    actor,
    accounts: [],
    transfers: [],
    transactions: [],
    keys: [],
    counts: { accounts: 0, transfers: 0, transactions: 0, entries: 0, keys: 0 },
    nextKey: 0,
  };
}

export function freshKey(m: Model): string {
  m.nextKey += 1;
  return `model-${m.runTag}-${m.nextKey}`;
}

export const ZERO: Counters = Object.freeze({
  debitsPosted: 0n,
  creditsPosted: 0n,
  debitsPending: 0n,
  creditsPending: 0n,
});

export function posted(a: Pick<ModelAccount, 'normalBalance'>, c: Counters): bigint {
  return a.normalBalance === 'credit' ? c.creditsPosted - c.debitsPosted : c.debitsPosted - c.creditsPosted;
}

/** Posted minus pending outflows (SPEC 5): pending inflows are not spendable yet. */
export function available(a: Pick<ModelAccount, 'normalBalance'>, c: Counters): bigint {
  return posted(a, c) - (a.normalBalance === 'credit' ? c.debitsPending : c.creditsPending);
}

export function balancesOf(a: ModelAccount): Record<string, string> {
  const c = a.counters;
  return {
    debitsPosted: c.debitsPosted.toString(),
    creditsPosted: c.creditsPosted.toString(),
    debitsPending: c.debitsPending.toString(),
    creditsPending: c.creditsPending.toString(),
    posted: posted(a, c).toString(),
    available: available(a, c).toString(),
  };
}

/** The accounts a write answers with (SPEC 11): each once, in the order first named, as the scratch has them. */
export function accountsAfter(s: Scratch, ids: readonly string[]): Record<string, unknown>[] {
  return [...new Set(ids)].map((id) => {
    const a = s.get(id)!;
    return { accountId: id, version: a.entries, balances: balancesOf(a) };
  });
}

/** Whether a movement on `side` can leave the account's `available` where it is or above zero. */
export function canMove(a: ModelAccount, side: Side): boolean {
  return a.allowNegative || a.normalBalance === side || available(a, a.counters) > 0n;
}

/** A refusal as the API reports it; `index` names the posting of a transaction that caused it. */
export interface Refusal {
  status: number;
  code: string;
  index?: number;
}

export const refuse = (status: number, code: string): Refusal => ({ status, code });

function counterOf(kind: 'post' | 'reserve' | 'release', side: Side): keyof Counters {
  if (kind === 'post') return side === 'debit' ? 'debitsPosted' : 'creditsPosted';
  return side === 'debit' ? 'debitsPending' : 'creditsPending';
}

/**
 * A scratch copy of the model's accounts for one request: movements are checked and applied one after
 * another (a batch's later transfers see its earlier ones) and reach the model only on `commit`, so a
 * refusal anywhere leaves the model as it was (all or nothing).
 */
export class Scratch {
  private readonly touched = new Map<string, ModelAccount>();
  entries = 0;

  constructor(private readonly model: Model) {}

  get(id: string): ModelAccount | undefined {
    const seen = this.touched.get(id);
    if (seen !== undefined) return seen;
    const original = this.model.accounts.find((a) => a.id === id);
    if (original === undefined) return undefined;
    const copy = { ...original, counters: { ...original.counters } };
    this.touched.set(id, copy);
    return copy;
  }

  /**
   * One side of a movement on the scratch counters, or the refusal. A new movement may not push a counter past
   * the bigint range (BALANCE_OVERFLOW) and may not take `available` of an account that disallows negatives
   * below zero (INSUFFICIENT_FUNDS); overflow is looked at first. A release never fails.
   */
  move(a: ModelAccount, kind: 'post' | 'reserve' | 'release', side: Side, amount: bigint): Refusal | undefined {
    const key = counterOf(kind, side);
    const next = { ...a.counters };
    if (kind === 'release') {
      next[key] -= amount;
      if (next[key] < 0n) throw new Error(`model bug: release below zero on ${a.id}`);
      a.counters = next;
      return undefined;
    }
    next[key] += amount;
    if (next[key] > INT64_MAX) return refuse(422, 'BALANCE_OVERFLOW');
    // SPEC 5: no movement, posted or pending, may take `available` below zero unless negatives are allowed.
    if (!a.allowNegative && available(a, next) < 0n) {
      return refuse(422, 'INSUFFICIENT_FUNDS');
    }
    a.counters = next;
    if (kind === 'post') {
      a.entries += 1;
      this.entries += 1;
    }
    return undefined;
  }

  /**
   * A new transfer, in the service's documented order of refusals: SAME_ACCOUNT, ACCOUNT_NOT_FOUND (debit,
   * then credit), CURRENCY_MISMATCH (debit, then credit), ACCOUNT_NOT_ACTIVE, then funds and overflow of the
   * debit side, then of the credit side.
   */
  open(req: { debitAccountId: string; creditAccountId: string; amount: bigint; currency: string; pending: boolean }) {
    if (req.debitAccountId === req.creditAccountId) return refuse(422, 'SAME_ACCOUNT');
    const debit = this.get(req.debitAccountId);
    if (debit === undefined) return refuse(422, 'ACCOUNT_NOT_FOUND');
    const credit = this.get(req.creditAccountId);
    if (credit === undefined) return refuse(422, 'ACCOUNT_NOT_FOUND');
    if (debit.currency !== req.currency || credit.currency !== req.currency) return refuse(422, 'CURRENCY_MISMATCH');
    if (debit.status !== 'active' || credit.status !== 'active') return refuse(422, 'ACCOUNT_NOT_ACTIVE');
    const kind = req.pending ? 'reserve' : 'post';
    return this.move(debit, kind, 'debit', req.amount) ?? this.move(credit, kind, 'credit', req.amount);
  }

  /** Posting a pending transfer: the whole reservation is released, then `amount` is posted. */
  settle(t: ModelTransfer, amount: bigint): Refusal | undefined {
    const debit = this.get(t.debitAccountId)!;
    const credit = this.get(t.creditAccountId)!;
    this.move(debit, 'release', 'debit', t.amount);
    this.move(credit, 'release', 'credit', t.amount);
    return this.move(debit, 'post', 'debit', amount) ?? this.move(credit, 'post', 'credit', amount);
  }

  release(t: ModelTransfer): void {
    this.move(this.get(t.debitAccountId)!, 'release', 'debit', t.amount);
    this.move(this.get(t.creditAccountId)!, 'release', 'credit', t.amount);
  }

  /**
   * A transaction's postings, as SPEC 11 has them: balanced per currency (no index), then per posting each kind
   * over all postings before the next (unknown account, currency, version), then each account judged once the
   * whole transaction is applied (overflow, then funds, naming the account's first posting), then conditions.
   * `judged: false` (posting a pending transaction) judges only overflow and funds, and names no posting.
   */
  transact(postings: readonly ModelPosting[], kind: 'post' | 'reserve', judged = true): Refusal | undefined {
    const at = (r: Refusal, i: number): Refusal => (judged ? { ...r, index: i } : r);
    if (judged) {
      const net = new Map<string, bigint>();
      for (const p of postings) {
        net.set(p.currency, (net.get(p.currency) ?? 0n) + (p.direction === 'debit' ? 1n : -1n) * BigInt(p.amount));
      }
      if ([...net.values()].some((d) => d !== 0n)) return refuse(422, 'UNBALANCED_TRANSACTION');
      const i = postings.findIndex((p) => this.get(p.accountId) === undefined);
      if (i >= 0) return at(refuse(422, 'ACCOUNT_NOT_FOUND'), i);
      const c = postings.findIndex((p) => this.get(p.accountId)!.currency !== p.currency);
      if (c >= 0) return at(refuse(422, 'CURRENCY_MISMATCH'), c);
      const v = postings.findIndex(
        (p) => p.lockVersion !== undefined && p.lockVersion !== this.get(p.accountId)!.entries,
      );
      if (v >= 0) return at(refuse(409, 'ACCOUNT_VERSION_CONFLICT'), v);
    }
    const after = new Map<string, Counters>();
    const first = new Map<string, number>();
    postings.forEach((p, i) => {
      if (!first.has(p.accountId)) first.set(p.accountId, i);
      const next = { ...(after.get(p.accountId) ?? this.get(p.accountId)!.counters) };
      next[counterOf(kind, p.direction)] += BigInt(p.amount);
      after.set(p.accountId, next);
    });
    for (const [id, next] of after) {
      const a = this.get(id)!;
      if (Object.values(next).some((x) => x > INT64_MAX)) return at(refuse(422, 'BALANCE_OVERFLOW'), first.get(id)!);
      const now = available(a, next);
      if (!a.allowNegative && now < 0n && now < available(a, a.counters)) {
        return at(refuse(422, 'INSUFFICIENT_FUNDS'), first.get(id)!);
      }
    }
    for (const [i, p] of postings.entries()) {
      const bounds = p.conditions?.available;
      if (bounds === undefined) continue;
      const now = available(this.get(p.accountId)!, after.get(p.accountId)!);
      if (
        (bounds.gte !== undefined && now < BigInt(bounds.gte)) ||
        (bounds.lte !== undefined && now > BigInt(bounds.lte))
      ) {
        return at(refuse(422, 'BALANCE_CONDITION_FAILED'), i);
      }
    }
    for (const p of postings) {
      const a = this.get(p.accountId)!;
      a.counters = { ...a.counters };
      a.counters[counterOf(kind, p.direction)] += BigInt(p.amount);
      if (kind === 'post') {
        a.entries += 1;
        this.entries += 1;
      }
    }
    return undefined;
  }

  /** Gives back every reservation of a pending transaction. */
  releaseAll(postings: readonly ModelPosting[]): void {
    for (const p of postings) this.move(this.get(p.accountId)!, 'release', p.direction, BigInt(p.amount));
  }

  commit(): void {
    for (const copy of this.touched.values()) {
      const i = this.model.accounts.findIndex((a) => a.id === copy.id);
      this.model.accounts[i] = copy;
    }
    this.model.counts.entries += this.entries;
  }
}

/** The transfer as GET /v1/transfers/:id (and every write that returns it) must show it. */
export function transferView(t: ModelTransfer): Record<string, unknown> {
  return {
    id: t.id,
    // The model's ledger is `default`: it never names one.
    ledgerId: '00000000-0000-4000-8000-000000000001',
    debitAccountId: t.debitAccountId,
    creditAccountId: t.creditAccountId,
    amount: t.amount.toString(),
    currency: t.currency,
    status: t.status,
    postedAmount: t.postedAmount.toString(),
    reversedAmount: t.reversedAmount.toString(),
    description: t.description,
    externalId: null,
    metadata: {},
    batchId: t.batchId,
    reversalOf: t.reversalOf,
    expiresAt: null,
    createdAt: t.createdAt,
    // The model dates nothing: every movement counts when it is recorded (SPEC 12).
    effectiveAt: t.createdAt,
    postedAt: t.postedAt,
    createdBy: t.createdBy,
    postedBy: t.postedBy,
    voidedBy: t.voidedBy,
  };
}

/** The transaction as GET /v1/transactions/:id (and every write that returns it) must show it. */
export function transactionView(t: ModelTransaction): Record<string, unknown> {
  return {
    id: t.id,
    ledgerId: '00000000-0000-4000-8000-000000000001',
    status: t.status,
    postings: t.postings,
    description: t.description,
    externalId: null,
    metadata: {},
    effectiveAt: t.createdAt,
    expiresAt: null,
    reversalOf: t.reversalOf,
    reversedBy: t.reversedBy,
    createdAt: t.createdAt,
    postedAt: t.postedAt,
    createdBy: t.createdBy,
    postedBy: t.postedBy,
    voidedBy: t.voidedBy,
  };
}

// ---- amounts, chosen at generation time and resolved against the model when the command runs ----

/**
 * How a transfer's amount is chosen: a fixed value, or relative to the model's state at run time (around
 * the debit account's `available`, or around the room left in the counter the movement adds to), so
 * the boundaries of INSUFFICIENT_FUNDS and BALANCE_OVERFLOW are hit exactly and not only by luck.
 */
export type AmountSpec =
  | { kind: 'fixed'; value: bigint }
  | { kind: 'available'; delta: bigint }
  | { kind: 'fraction'; percent: number }
  | { kind: 'headroom'; side: Side; delta: bigint };

export const clampAmount = (v: bigint): bigint => (v < 1n ? 1n : v > INT64_MAX ? INT64_MAX : v);

export function resolveAmount(
  spec: AmountSpec,
  debit: ModelAccount | undefined,
  credit: ModelAccount | undefined,
  pending: boolean,
): bigint {
  switch (spec.kind) {
    case 'fixed':
      return spec.value;
    case 'available':
      return clampAmount((debit === undefined ? 0n : available(debit, debit.counters)) + spec.delta);
    case 'fraction':
      return clampAmount(((debit === undefined ? 0n : available(debit, debit.counters)) * BigInt(spec.percent)) / 100n);
    case 'headroom': {
      const a = spec.side === 'debit' ? debit : credit;
      const used = a === undefined ? 0n : a.counters[counterOf(pending ? 'reserve' : 'post', spec.side)];
      return clampAmount(INT64_MAX - used + spec.delta);
    }
  }
}

export function showAmount(spec: AmountSpec): string {
  switch (spec.kind) {
    case 'fixed':
      return spec.value.toString();
    case 'available':
      return `available${spec.delta < 0n ? '' : '+'}${spec.delta}`;
    case 'fraction':
      return `${spec.percent}%available`;
    case 'headroom':
      return `headroom(${spec.side})${spec.delta < 0n ? '' : '+'}${spec.delta}`;
  }
}

/**
 * The amount of a post or a reversal, relative to what is there: the reserved amount of a pending transfer,
 * or what is left to reverse of a posted one. `omit` sends no amount (all of it).
 */
export type PartSpec =
  | { kind: 'omit' }
  | { kind: 'exact' }
  | { kind: 'part'; percent: number }
  | { kind: 'over'; by: bigint }
  | { kind: 'one' };

export function resolvePart(spec: PartSpec, whole: bigint): bigint | undefined {
  switch (spec.kind) {
    case 'omit':
      return undefined;
    case 'exact':
      return clampAmount(whole);
    case 'part':
      return clampAmount((whole * BigInt(spec.percent)) / 100n);
    case 'over':
      return clampAmount(whole + spec.by);
    case 'one':
      return 1n;
  }
}

export function showPart(spec: PartSpec): string {
  switch (spec.kind) {
    case 'omit':
      return 'all';
    case 'exact':
      return 'exact';
    case 'part':
      return `${spec.percent}%`;
    case 'over':
      return `over+${spec.by}`;
    case 'one':
      return '1';
  }
}
