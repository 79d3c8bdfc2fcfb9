/**
 * The bank workload of the chaos test (issues #7 and #23), in the spirit of Jepsen's bank test: two service
 * instances on one PostgreSQL, several ledgers at once, each with a few dozen accounts, an operator and an
 * auditor limited to it; clients moving money inside their ledger with its operator's token and every write
 * under an Idempotency-Key, auditors reading all balances in a loop, scoped callers probing the other ledgers
 * (test/chaos/isolation.ts), and faults injected all along (connections terminated, an instance SIGKILLed and
 * restarted, PostgreSQL stopped and started). Clients move money by transfers and by transactions of several
 * postings (issue #25), pending or posted, and post, void and reverse both. Clients retry an unknown outcome with
 * the same key until it is definite; the checks at the end tie every transfer and transaction row in the database
 * to a request, and every acknowledged request to its rows, and hold each ledger's books (balances and entries)
 * to what the acknowledged requests add up to. Plain functions, no Jest in here.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledgerViolations } from '../support/invariants.js';
import { freePort, TEST_CHECKPOINT_KEY } from '../support/process.js';
import { seededRandom } from '../support/synthetic-journal.js';
import { ChaosPostgres, ServiceInstance } from './cluster.js';
import { type Answer, type Call, NoAnswer, send, sleep } from './http.js';
import { type Ask, probe, PROBE_NAMES } from './isolation.js';

export interface BankOptions {
  label: string;
  /** Logical write operations the clients start, at least. */
  operations: number;
  /** Faults injected, at least: the clients keep going until both targets are met. */
  minFaults: number;
  /** Ledgers written at once, each by its share of the clients (client i writes in ledger i mod ledgers). */
  ledgers: number;
  clients: number;
  /** Time between the end of one fault's recovery and the next fault, bounds. */
  minFaultGapMs: number;
  maxFaultGapMs: number;
  /** The clients stop after this even when the targets are not met (the report then says so). */
  maxRunMs: number;
  /** The share of first attempts sent with a timeout of 20-250 ms instead of a few seconds. */
  impatientShare: number;
  /** Acknowledged creates replayed at the end with their key. */
  replaySample: number;
  seed?: number;
  progress?: (line: string) => void;
}

export type FaultKind = 'terminate-backends' | 'kill-instance' | 'restart-postgres';

export interface BankReport {
  label: string;
  seed: number;
  durationMs: number;
  runMs: number;
  operations: number;
  operationsByKind: Record<string, number>;
  acknowledged: number;
  acknowledgedByKind: Record<string, number>;
  refusals: Record<string, number>;
  retries: number;
  retriesByReason: Record<string, number>;
  /** Definite answers that were replays after an unknown outcome: the earlier attempt had been applied. */
  appliedBeforeRetry: number;
  faults: Record<FaultKind, number>;
  faultsTotal: number;
  backendsTerminated: number;
  maxRecoveryMs: number;
  auditorReads: number;
  auditorFailedReads: number;
  auditorViolations: number;
  /** Scoped callers' requests about other ledgers (each: that ledger's thing, and one that exists nowhere). */
  isolationProbes: number;
  isolationViolations: number;
  replaysChecked: number;
  transfersInDb: number;
  transactionsInDb: number;
  entriesInDb: number;
  /** Things worth a look that are not invariant violations (e.g. 500s during faults). */
  findings: string[];
  violations: string[];
  logFiles: string[];
  summary: string;
}

const CURRENCY = 'USD';
const REQUEST_TIMEOUT_MS = 4000;
const OP_DEADLINE_MS = 120_000;
const READY_WITHIN_MS = 60_000;
const TOKEN_REFRESH_MS = 10 * 60_000;
const POOL_CAP = 300;
const INITIAL_FUNDS = 50_000n;
/** Per ledger: constrained wallets and assets, funding accounts for each, and unconstrained wallets. */
const LAYOUT: readonly [Account['role'], number, Account['normalBalance'], boolean][] = [
  ['wallet', 12, 'credit', false], // customers: constrained, credit-normal
  ['asset', 2, 'debit', false], // constrained, debit-normal: crediting them is what can overdraw them
  ['cash', 2, 'debit', true], // funding for the wallets
  ['equity', 2, 'credit', true], // funding for the assets
  ['open', 2, 'credit', true], // unconstrained wallets, free to go negative
];
const ADMIN = { username: 'chaos-admin', password: `chaos-admin-${randomBytes(8).toString('hex')}` };
const EXPECTED_REFUSALS = new Set([
  'INSUFFICIENT_FUNDS',
  'TRANSFER_NOT_PENDING',
  'TRANSFER_EXPIRED',
  'AMOUNT_EXCEEDS_PENDING',
  'REVERSAL_EXCEEDS_AMOUNT',
  // A transaction reverses once, whole: a second reversal, or one racing another client's, is refused.
  'ALREADY_REVERSED',
]);

type OpKind =
  | 'setup'
  | 'transfer'
  | 'batch'
  | 'pending'
  | 'post'
  | 'void'
  | 'reverse'
  | 'transaction'
  | 'pending-transaction'
  | 'post-transaction'
  | 'void-transaction'
  | 'reverse-transaction';
const CREATING: ReadonlySet<OpKind> = new Set([
  'setup',
  'transfer',
  'batch',
  'pending',
  'reverse',
  'transaction',
  'pending-transaction',
  'reverse-transaction',
]);
/** The operations on /v1/transactions: their rows are in `transactions`, not `transfers`, and checked apart. */
const TRANSACTION_KINDS: ReadonlySet<OpKind> = new Set([
  'transaction',
  'pending-transaction',
  'post-transaction',
  'void-transaction',
  'reverse-transaction',
]);

interface Op {
  id: string;
  kind: OpKind;
  /** The ledger it writes in, with its operator's token. */
  ledger: Ledger;
  call: Call;
  /** The externalIds of the transfers it would create (one per batch leg), or of the transaction. */
  externalIds: string[];
  /** Reversals carry no externalId: their description ties them to the operation. */
  tag?: string;
  /** The transfer or transaction a post, void or reversal acts on. */
  target?: string;
  attempts: number;
  answer?: Answer;
  unresolved?: boolean;
}

interface Account {
  id: string;
  ledgerId: string;
  role: 'wallet' | 'asset' | 'cash' | 'equity' | 'open';
  normalBalance: 'credit' | 'debit';
  allowNegative: boolean;
}

interface Known {
  id: string;
  /** A transaction's: what it debits in all. */
  amount: bigint;
  /** Posted: what is left to reverse, as far as this run knows (a transaction: all of it, or nothing once reversed). */
  left: bigint;
}

/** A posting as a transaction request sends it, and as the service shows it back. */
interface Posting {
  accountId: string;
  direction: 'debit' | 'credit';
  amount: string;
  currency: string;
}

/**
 * One ledger of the run: its users limited to it, its accounts, and what its clients know of its transfers and
 * transactions (apart, as each is posted, voided and reversed on its own routes).
 */
interface Ledger {
  index: number;
  name: string;
  /** Known once the ledger is created. */
  id: string;
  operator: Credentials;
  auditor: Credentials;
  accounts: Account[];
  accountIds: Set<string>;
  pending: Map<string, Known>;
  posted: Map<string, Known>;
  pendingTransactions: Map<string, Known>;
  postedTransactions: Map<string, Known>;
}

type Rng = () => number;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const between = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const bigBetween = (rng: Rng, lo: bigint, hi: bigint): bigint =>
  lo + (BigInt(Math.floor(rng() * 2 ** 52)) * (hi - lo + 1n)) / 2n ** 52n;
const count = (tally: Record<string, number>, key: string, n = 1): void => {
  tally[key] = (tally[key] ?? 0) + n;
};

/** A user's password and current token; a new token is fetched when it gets old or is refused. */
class Credentials {
  token = '';
  issuedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly username: string,
    readonly password: string,
  ) {}

  async current(w: World): Promise<string> {
    if (Date.now() - this.issuedAt > TOKEN_REFRESH_MS) await this.refresh(w);
    return this.token;
  }

  /** Single-flight, and at most every 5 s: a 401 storm after an outage must not become a login storm. */
  async refresh(w: World, unlessNewerThanMs = 0): Promise<void> {
    if (this.issuedAt > 0 && Date.now() - this.issuedAt < unlessNewerThanMs) return;
    this.refreshing ??= this.login(w).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async login(w: World): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; Date.now() - started < OP_DEADLINE_MS; attempt++) {
      const instance = w.instances[attempt % w.instances.length]!;
      try {
        const a = await send(
          instance.url,
          { method: 'POST', path: '/v1/auth/token', body: { username: this.username, password: this.password } },
          undefined,
          REQUEST_TIMEOUT_MS,
        );
        w.stats.logins++;
        if (a.status === 200) {
          this.token = a.body.accessToken as string;
          this.issuedAt = Date.now();
          return;
        }
        if (a.status < 500 && a.status !== 429) throw new Error(`login of ${this.username}: ${a.status} ${a.text}`);
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
      }
      await sleep(500);
    }
    throw new Error(`login of ${this.username} did not succeed within ${OP_DEADLINE_MS} ms`);
  }
}

const newCredentials = (username: string): Credentials =>
  new Credentials(username, `pw-${randomBytes(12).toString('hex')}`);

/** The run's ledger `index`, before it is created (setup). */
function newLedger(runId: string, index: number): Ledger {
  const name = `${runId}-l${index}`;
  return {
    index,
    name,
    id: '',
    operator: newCredentials(`${name}-operator`),
    auditor: newCredentials(`${name}-auditor`),
    accounts: [],
    accountIds: new Set(),
    pending: new Map(),
    posted: new Map(),
    pendingTransactions: new Map(),
    postedTransactions: new Map(),
  };
}

interface Stats {
  retries: number;
  retriesByReason: Record<string, number>;
  appliedBeforeRetry: number;
  appliedDespite5xx: number;
  logins: number;
  faults: Record<FaultKind, number>;
  backendsTerminated: number;
  recoveryMs: number[];
  auditorReads: number;
  auditorFailedReads: number;
  auditorViolations: number;
  isolationProbes: number;
  isolationViolations: number;
}

interface World {
  opts: BankOptions;
  runId: string;
  pg: ChaosPostgres;
  databaseUrl: string;
  instances: ServiceInstance[];
  ledgers: Ledger[];
  /** An auditor of every ledger, for the checks across ledgers and the reads of one ledger by its id. */
  auditor: Credentials;
  ops: Op[];
  started: number;
  stats: Stats;
  violations: string[];
  findings: string[];
  clientsDone: boolean;
  aborted: string | undefined;
  /** Instances that exited without being asked to. */
  crashed: Set<string>;
  runStartedAt: number;
}

/** Where a client sends its requests; it moves to the other instance when its own does not answer. */
interface Seat {
  index: number;
  instance: number;
}

const say = (w: World, line: string): void => w.opts.progress?.(line);

/**
 * Sends `call` until the answer is definite (2xx, or a 4xx other than 401/429/IDEMPOTENCY_KEY_IN_USE), always
 * with the same key and body. Undefined when no definite answer came within OP_DEADLINE_MS.
 */
async function perform(
  w: World,
  seat: Seat,
  call: Call,
  who: Credentials,
  op?: { attempts: number },
  patientTimeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Answer | undefined> {
  const started = Date.now();
  let noAnswerBefore = false;
  let serverErrorBefore = false;
  for (let attempt = 1; ; attempt++) {
    // After a crash or a failed recovery the run is over: whatever is in flight stays unresolved.
    if (w.aborted !== undefined) return undefined;
    if (Date.now() - started > OP_DEADLINE_MS) return undefined;
    if (attempt > 1) w.stats.retries++;
    if (op !== undefined) op.attempts = attempt;
    const instance = w.instances[seat.instance]!;
    // Now and then a client gives up on its first attempt almost at once and retries while the first is still
    // running: the surest way to have outcomes applied but unknown to the caller, and two attempts racing.
    const impatient = op !== undefined && attempt === 1 && Math.random() < w.opts.impatientShare;
    const timeoutMs = impatient ? 20 + Math.floor(Math.random() * 230) : patientTimeoutMs;
    let a: Answer;
    try {
      a = await send(instance.url, call, await who.current(w), timeoutMs);
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
      count(w.stats.retriesByReason, impatient && error.kind === 'timeout' ? 'impatient timeout' : error.kind);
      noAnswerBefore = true;
      if (error.kind === 'connection') seat.instance = (seat.instance + 1) % w.instances.length;
      await backoff(attempt);
      continue;
    }
    const code = typeof a.body?.code === 'string' ? (a.body.code as string) : '';
    if (a.status === 401) {
      // Our token is valid for 15 minutes and refreshed after 10: a 401 here is the service's doing.
      count(w.stats.retriesByReason, `401 ${code}`);
      await who.refresh(w, 5000);
      await backoff(attempt);
      continue;
    }
    if (a.status >= 500 || a.status === 429 || code === 'IDEMPOTENCY_KEY_IN_USE') {
      count(w.stats.retriesByReason, `${a.status} ${code}`);
      if (a.status >= 500) serverErrorBefore = true;
      await backoff(attempt);
      continue;
    }
    if (a.replayed && (noAnswerBefore || serverErrorBefore)) {
      w.stats.appliedBeforeRetry++;
      // Every earlier attempt was answered, with a 5xx: one of those answers said "nothing was written" wrongly.
      if (!noAnswerBefore) w.stats.appliedDespite5xx++;
    }
    return a;
  }
}

const backoff = (attempt: number): Promise<void> =>
  sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));

// ---------------------------------------------------------------------------------------------------------------
// Setup

/** Sends `call` until its answer is definite, which must have the `expected` status. */
async function definite(w: World, seat: Seat, call: Call, who: Credentials, expected: number): Promise<Answer> {
  const a = await perform(w, seat, call, who);
  if (a?.status !== expected) throw new Error(`setup ${call.path}: ${a?.status} ${a?.text}`);
  return a;
}

/** The unlimited auditor, then every ledger at once. */
async function setup(w: World): Promise<void> {
  const admin = new Credentials(ADMIN.username, ADMIN.password);
  const seat: Seat = { index: -1, instance: 0 };
  await definite(
    w,
    seat,
    {
      method: 'POST',
      path: '/v1/users',
      key: `${w.runId}-user-auditor`,
      body: { username: w.auditor.username, password: w.auditor.password, roles: ['auditor'] },
    },
    admin,
    201,
  );
  await Promise.all(w.ledgers.map((ledger) => setupLedger(w, admin, ledger)));
}

/** The ledger, its operator and auditor limited to it, its accounts (opened by its operator), and their funds. */
async function setupLedger(w: World, admin: Credentials, ledger: Ledger): Promise<void> {
  const seat: Seat = { index: -1, instance: ledger.index % w.instances.length };
  const created = await definite(
    w,
    seat,
    { method: 'POST', path: '/v1/ledgers', key: `${ledger.name}-ledger`, body: { name: ledger.name } },
    admin,
    201,
  );
  ledger.id = created.body.id as string;
  for (const [who, role] of [
    [ledger.operator, 'operator'],
    [ledger.auditor, 'auditor'],
  ] as const) {
    await definite(
      w,
      seat,
      {
        method: 'POST',
        path: '/v1/users',
        key: `${ledger.name}-user-${role}`,
        body: { username: who.username, password: who.password, roles: [role], ledgers: [ledger.name] },
      },
      admin,
      201,
    );
  }
  let n = 0;
  for (const [role, howMany, normalBalance, allowNegative] of LAYOUT) {
    for (let i = 0; i < howMany; i++, n++) {
      const a = await definite(
        w,
        seat,
        {
          method: 'POST',
          path: '/v1/accounts',
          key: `${ledger.name}-account-${n}`,
          body: {
            // The first ledger's accounts name no ledger: they open in the only one their operator sees.
            ...(ledger.index === 0 ? {} : { ledgerId: ledger.name }),
            currency: CURRENCY,
            normalBalance,
            allowNegative,
            name: `chaos ${role} ${i}`,
            externalId: `${ledger.name}-account-${n}`,
          },
        },
        ledger.operator,
        201,
      );
      if (a.body.ledgerId !== ledger.id) throw new Error(`account ${a.body.id} opened in ledger ${a.body.ledgerId}`);
      ledger.accounts.push({ id: a.body.id as string, ledgerId: ledger.id, role, normalBalance, allowNegative });
      ledger.accountIds.add(a.body.id as string);
    }
  }
  const cash = ledger.accounts.filter((a) => a.role === 'cash');
  const equity = ledger.accounts.filter((a) => a.role === 'equity');
  const funded = ledger.accounts.filter((a) => !a.allowNegative);
  const legs = funded.map((a, i) => {
    const [debit, credit] =
      a.normalBalance === 'credit' ? [cash[i % cash.length]!, a] : [a, equity[i % equity.length]!];
    return {
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount: INITIAL_FUNDS.toString(),
      currency: CURRENCY,
    };
  });
  const externalIds = legs.map((_, i) => `${ledger.name}-setup-${i}`);
  const op: Op = {
    id: `${ledger.name}-setup`,
    kind: 'setup',
    ledger,
    call: {
      method: 'POST',
      path: '/v1/transfers/batch',
      key: `${ledger.name}-setup`,
      body: { transfers: legs.map((l, i) => ({ ...l, externalId: externalIds[i] })) },
    },
    externalIds,
    attempts: 0,
  };
  w.ops.push(op);
  op.answer = await definite(w, seat, op.call, ledger.operator, 201);
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

/** Whether moving money from `debit` to `credit` can take a constrained account below zero. */
const atRisk = (debit: Account, credit: Account): boolean =>
  (!debit.allowNegative && debit.normalBalance === 'credit') ||
  (!credit.allowNegative && credit.normalBalance === 'debit');

function pickPair(ledger: Ledger, rng: Rng): [Account, Account] {
  const r = rng();
  const constrained = ledger.accounts.filter((a) => !a.allowNegative);
  if (r < 0.2) {
    // a deposit into, or a withdrawal from, a constrained account against a funding account
    const x = pick(rng, constrained);
    const funding = pick(
      rng,
      ledger.accounts.filter((a) => a.role === (x.normalBalance === 'credit' ? 'cash' : 'equity')),
    );
    const deposit = r < 0.12;
    const [into, from] =
      x.normalBalance === 'credit'
        ? [[funding, x] as const, [x, funding] as const]
        : [[x, funding] as const, [funding, x] as const];
    return deposit ? [into[0], into[1]] : [from[0], from[1]];
  }
  const tradeable = ledger.accounts.filter((a) => a.role === 'wallet' || a.role === 'asset' || a.role === 'open');
  const debit = pick(rng, tradeable);
  let credit = pick(rng, tradeable);
  while (credit.id === debit.id) credit = pick(rng, tradeable);
  return [debit, credit];
}

/** Amounts for a movement: where a constrained account could be overdrawn, many deliberately try. */
function pickAmount(rng: Rng, risky: boolean, overdraftShare: number): bigint {
  if (!risky) return BigInt(between(rng, 1000, 20_000));
  const r = rng();
  if (r < overdraftShare * 0.7) return BigInt(between(rng, 20_000, 150_000)); // often more than there is
  if (r < overdraftShare) return bigBetween(rng, 1_000_000_000n, 1_000_000_000_000n); // always more than there is
  return BigInt(between(rng, 1, 3000));
}

function transferBody(ledger: Ledger, rng: Rng, externalId: string, overdraftShare: number): Record<string, unknown> {
  const [debit, credit] = pickPair(ledger, rng);
  const amount = pickAmount(rng, atRisk(debit, credit), overdraftShare);
  return {
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount: amount.toString(),
    currency: CURRENCY,
    externalId,
  };
}

/** `n` distinct accounts of `pool`, in random order. */
function distinct(rng: Rng, pool: readonly Account[], n: number): Account[] {
  const copy = [...pool];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/** `total` in `n` parts of at least 1 each (total >= n), so that a transaction's two sides can balance. */
function split(rng: Rng, total: bigint, n: number): bigint[] {
  const parts = Array.from({ length: n }, () => 1n);
  let rest = total - BigInt(n);
  for (let i = 0; i < n - 1; i++) {
    const part = bigBetween(rng, 0n, rest);
    parts[i]! += part;
    rest -= part;
  }
  parts[n - 1]! += rest;
  return parts;
}

/**
 * The 3-4 postings of a transaction: mostly one payer debited and 2-3 payees credited, now and then with a payee
 * credited twice (a transaction may name an account in several postings: funds are judged on its final state);
 * else two payers and two payees, or a payroll from a funding account to 2-3 wallets, which keeps wallets funded.
 * Where a constrained account could be overdrawn, many deliberately try, as for transfers: the refusal must
 * leave every posting unwritten.
 */
function transactionPostings(ledger: Ledger, rng: Rng, overdraftShare: number): Posting[] {
  const s = rng();
  let payers: Account[];
  let payees: Account[];
  if (s < 0.2) {
    payers = [
      pick(
        rng,
        ledger.accounts.filter((a) => a.role === 'cash'),
      ),
    ];
    payees = distinct(
      rng,
      ledger.accounts.filter((a) => a.role === 'wallet'),
      between(rng, 2, 3),
    );
  } else {
    const tradeable = ledger.accounts.filter((a) => a.role === 'wallet' || a.role === 'asset' || a.role === 'open');
    const twoPayers = s < 0.35;
    const chosen = distinct(rng, tradeable, twoPayers ? 4 : 1 + between(rng, 2, 3));
    payers = chosen.slice(0, twoPayers ? 2 : 1);
    payees = chosen.slice(payers.length);
    if (!twoPayers && payees.length === 2 && rng() < 0.3) payees.push(payees[0]!);
  }
  const risky =
    payers.some((a) => !a.allowNegative && a.normalBalance === 'credit') ||
    payees.some((a) => !a.allowNegative && a.normalBalance === 'debit');
  let total = pickAmount(rng, risky, overdraftShare);
  if (total < BigInt(payees.length)) total = BigInt(payees.length);
  const side = (accounts: Account[], direction: Posting['direction']): Posting[] =>
    split(rng, total, accounts.length).map((amount, i) => ({
      accountId: accounts[i]!.id,
      direction,
      amount: amount.toString(),
      currency: CURRENCY,
    }));
  return [...side(payers, 'debit'), ...side(payees, 'credit')];
}

function someOf(pool: Map<string, Known>, rng: Rng): Known | undefined {
  if (pool.size === 0) return undefined;
  const ids = [...pool.keys()];
  return pool.get(pick(rng, ids));
}

function nextOp(w: World, ledger: Ledger, seat: Seat, rng: Rng, n: number): Op {
  const id = `${w.runId}-c${seat.index}-${n}`;
  const base = { id, ledger, attempts: 0, externalIds: [] as string[] };
  // The mix, in percent: transfers post 9, void 6, reverse 9, batch 11, pending 12; transactions posted 12,
  // pending 8, post 6, void 3, reverse 6; single transfers the rest (18), and whatever finds its pool empty.
  const r = rng() * 100;
  if (r < 9) {
    const p = someOf(ledger.pending, rng);
    if (p !== undefined) {
      const s = rng();
      const body =
        s < 0.45
          ? {}
          : s < 0.9
            ? { amount: bigBetween(rng, 1n, p.amount).toString() }
            : { amount: (p.amount + 1n).toString() };
      return {
        ...base,
        kind: 'post',
        target: p.id,
        call: { method: 'POST', path: `/v1/transfers/${p.id}/post`, key: id, body },
      };
    }
  } else if (r < 15) {
    const p = someOf(ledger.pending, rng);
    if (p !== undefined) {
      return {
        ...base,
        kind: 'void',
        target: p.id,
        call: { method: 'POST', path: `/v1/transfers/${p.id}/void`, key: id },
      };
    }
  } else if (r < 24) {
    const p = someOf(ledger.posted, rng);
    if (p !== undefined) {
      const tag = `chaos reversal ${id}`;
      const body: Record<string, unknown> =
        rng() < 0.5 || p.left <= 0n
          ? { description: tag }
          : { amount: bigBetween(rng, 1n, p.left).toString(), description: tag };
      return {
        ...base,
        kind: 'reverse',
        tag,
        target: p.id,
        call: { method: 'POST', path: `/v1/transfers/${p.id}/reverse`, key: id, body },
      };
    }
  } else if (r < 35) {
    const legs = between(rng, 2, 5);
    const externalIds = Array.from({ length: legs }, (_, i) => `${id}-${i}`);
    const transfers = externalIds.map((x) => {
      const t = transferBody(ledger, rng, x, 0.15);
      return rng() < 0.15 ? { ...t, pending: true, timeoutSeconds: 30 } : t;
    });
    return {
      ...base,
      kind: 'batch',
      externalIds,
      call: { method: 'POST', path: '/v1/transfers/batch', key: id, body: { transfers } },
    };
  } else if (r < 47) {
    const body = { ...transferBody(ledger, rng, id, 0.15), pending: true, ...pendingTimeout(rng) };
    return {
      ...base,
      kind: 'pending',
      externalIds: [id],
      call: { method: 'POST', path: '/v1/transfers', key: id, body },
    };
  } else if (r < 59) {
    const body = { postings: transactionPostings(ledger, rng, 0.3), externalId: id };
    return {
      ...base,
      kind: 'transaction',
      externalIds: [id],
      call: { method: 'POST', path: '/v1/transactions', key: id, body },
    };
  } else if (r < 67) {
    const body = {
      postings: transactionPostings(ledger, rng, 0.15),
      externalId: id,
      pending: true,
      ...pendingTimeout(rng),
    };
    return {
      ...base,
      kind: 'pending-transaction',
      externalIds: [id],
      call: { method: 'POST', path: '/v1/transactions', key: id, body },
    };
  } else if (r < 76) {
    // A transaction posts or voids whole: no amount, an empty body.
    const p = someOf(ledger.pendingTransactions, rng);
    if (p !== undefined) {
      const kind = r < 73 ? 'post-transaction' : 'void-transaction';
      const action = kind === 'post-transaction' ? 'post' : 'void';
      return {
        ...base,
        kind,
        target: p.id,
        call: { method: 'POST', path: `/v1/transactions/${p.id}/${action}`, key: id, body: {} },
      };
    }
  } else if (r < 82) {
    // Now and then one still pending, which has nothing posted to reverse; else a posted one, which may have been
    // reversed already (a second reversal must be refused, not applied).
    const pendingOne = rng() < 0.1 ? someOf(ledger.pendingTransactions, rng) : undefined;
    const p = pendingOne ?? someOf(ledger.postedTransactions, rng);
    if (p !== undefined) {
      const tag = `chaos reversal ${id}`;
      return {
        ...base,
        kind: 'reverse-transaction',
        tag,
        target: p.id,
        call: { method: 'POST', path: `/v1/transactions/${p.id}/reverse`, key: id, body: { description: tag } },
      };
    }
  }
  const body = transferBody(ledger, rng, id, 0.4);
  return {
    ...base,
    kind: 'transfer',
    externalIds: [id],
    call: { method: 'POST', path: '/v1/transfers', key: id, body },
  };
}

/** Many pending ones expire during the run (the sweeper releases them), some within a post's or void's reach. */
function pendingTimeout(rng: Rng): { timeoutSeconds?: number } {
  const t = rng();
  return t < 0.4 ? { timeoutSeconds: between(rng, 1, 3) } : t < 0.6 ? { timeoutSeconds: 30 } : {};
}

function remember(pool: Map<string, Known>, known: Known): void {
  pool.set(known.id, known);
  if (pool.size > POOL_CAP) pool.delete(pool.keys().next().value!);
}

function asKnown(t: any): Known {
  const amount = BigInt(t.status === 'posted' ? t.postedAmount : t.amount);
  return { id: t.id as string, amount, left: amount - BigInt(t.reversedAmount ?? '0') };
}

/** A transaction reverses whole and once: what is left is all of it, or nothing when it was reversed. */
function asKnownTransaction(t: any): Known {
  const amount = (t.postings as Posting[])
    .filter((p) => p.direction === 'debit')
    .reduce((sum, p) => sum + BigInt(p.amount), 0n);
  return { id: t.id as string, amount, left: t.reversedBy === null ? amount : 0n };
}

/** What a definite answer teaches the ledger's clients about which transactions they can post, void or reverse. */
function learnTransaction(op: Op, a: Answer): void {
  const { pendingTransactions: pending, postedTransactions: posted } = op.ledger;
  if (a.status < 300) {
    const t = a.body;
    if (op.kind === 'void-transaction') pending.delete(op.target!);
    else if (t.status === 'pending') remember(pending, asKnownTransaction(t));
    else if (t.status === 'posted') {
      pending.delete(t.id);
      // A reversal is a posted transaction too, and can be reversed in turn.
      remember(posted, asKnownTransaction(t));
    }
    // Kept, not forgotten: a later reversal of it must get 409 ALREADY_REVERSED, and then forgets it.
    if (op.kind === 'reverse-transaction') {
      const original = posted.get(op.target!);
      if (original !== undefined) original.left = 0n;
    }
    return;
  }
  const code = a.body?.code as string | undefined;
  if (code === 'TRANSFER_NOT_PENDING' || code === 'TRANSFER_EXPIRED') pending.delete(op.target!);
  if (code === 'ALREADY_REVERSED' || code === 'REVERSAL_EXCEEDS_AMOUNT') posted.delete(op.target!);
}

/** What a definite answer teaches the ledger's clients about which transfers they can post, void or reverse. */
function learn(op: Op, a: Answer): void {
  if (TRANSACTION_KINDS.has(op.kind)) return learnTransaction(op, a);
  const { pending, posted } = op.ledger;
  if (a.status < 300) {
    const transfers: any[] = op.kind === 'batch' ? a.body.transfers : [a.body];
    for (const t of transfers) {
      if (op.kind === 'void') pending.delete(t.id);
      else if (t.status === 'pending') remember(pending, asKnown(t));
      else if (t.status === 'posted') {
        pending.delete(t.id);
        remember(posted, asKnown(t));
      }
    }
    if (op.kind === 'reverse') {
      const original = posted.get(op.target!);
      if (original !== undefined) original.left -= BigInt(a.body.amount);
    }
    return;
  }
  const code = a.body?.code as string | undefined;
  if (code === 'TRANSFER_NOT_PENDING' || code === 'TRANSFER_EXPIRED') pending.delete(op.target!);
  if (code === 'REVERSAL_EXCEEDS_AMOUNT') posted.delete(op.target!);
}

/** A client of one ledger: its operator's token, its accounts, its transfers. */
async function client(w: World, ledger: Ledger, seat: Seat, rng: Rng): Promise<void> {
  for (let n = 0; !stopClients(w); n++) {
    const op = nextOp(w, ledger, seat, rng, n);
    w.ops.push(op);
    w.started++;
    const startedAt = Date.now();
    const a = await perform(w, seat, op.call, ledger.operator, op);
    if (a === undefined) {
      op.unresolved = true;
      if (w.aborted === undefined) {
        w.aborted = `operation ${op.id} (${op.kind}) got no definite answer in ${Date.now() - startedAt} ms`;
      }
      return;
    }
    op.answer = a;
    const code = a.body?.code as string | undefined;
    if (a.status >= 400 && !EXPECTED_REFUSALS.has(code ?? '')) {
      w.violations.push(`operation ${op.id} (${op.kind}) got an unexpected ${a.status} ${code}: ${a.body?.detail}`);
    }
    learn(op, a);
  }
}

function stopClients(w: World): boolean {
  if (w.aborted !== undefined) return true;
  if (Date.now() - w.runStartedAt > w.opts.maxRunMs) return true;
  return w.started >= w.opts.operations && faultsTotal(w) >= w.opts.minFaults;
}

const faultsTotal = (w: World): number => Object.values(w.stats.faults).reduce((s, n) => s + n, 0);

// ---------------------------------------------------------------------------------------------------------------
// Auditor

/** Who reads what: a ledger's own auditor (its accounts alone), or the unlimited one (every ledger's). */
interface Reader {
  label: string;
  who: Credentials;
  accounts: readonly Account[];
}

function readers(w: World): Reader[] {
  return [
    ...w.ledgers.map((l) => ({ label: `${l.name}'s auditor`, who: l.auditor, accounts: l.accounts })),
    { label: 'the unlimited auditor', who: w.auditor, accounts: w.ledgers.flatMap((l) => l.accounts) },
  ];
}

/**
 * Checks one page of every account the reader sees (one SQL snapshot): exactly the accounts expected, each in
 * its ledger; conservation per ledger and currency; the constraints.
 */
function auditSnapshot(reader: Reader, accounts: any[]): string[] {
  const problems: string[] = [];
  const expected = new Map(reader.accounts.map((a) => [a.id, a]));
  if (accounts.length !== expected.size) {
    problems.push(`${reader.label} saw ${accounts.length} accounts, expected ${expected.size}`);
  }
  const sums = new Map<string, { dp: bigint; cp: bigint; dq: bigint; cq: bigint }>();
  for (const a of accounts) {
    if (expected.get(a.id)?.ledgerId !== a.ledgerId) {
      problems.push(`${reader.label} saw account ${a.id} of ledger ${a.ledgerId}, not one of its run's accounts there`);
    }
    const b = a.balances;
    const key = `ledger ${a.ledgerId} ${a.currency}`;
    const s = sums.get(key) ?? { dp: 0n, cp: 0n, dq: 0n, cq: 0n };
    s.dp += BigInt(b.debitsPosted);
    s.cp += BigInt(b.creditsPosted);
    s.dq += BigInt(b.debitsPending);
    s.cq += BigInt(b.creditsPending);
    sums.set(key, s);
    if (!a.allowNegative) {
      const computed =
        a.normalBalance === 'credit'
          ? BigInt(b.creditsPosted) - BigInt(b.debitsPosted) - BigInt(b.debitsPending)
          : BigInt(b.debitsPosted) - BigInt(b.creditsPosted) - BigInt(b.creditsPending);
      if (BigInt(b.available) < 0n || computed < 0n) {
        problems.push(`constrained account ${a.id} below zero: available ${b.available}, computed ${computed}`);
      }
    }
  }
  for (const [key, s] of sums) {
    if (s.dp !== s.cp) problems.push(`${key}: debitsPosted ${s.dp} != creditsPosted ${s.cp}`);
    if (s.dq !== s.cq) problems.push(`${key}: debitsPending ${s.dq} != creditsPending ${s.cq}`);
  }
  return problems;
}

async function auditOnce(w: World, instance: ServiceInstance, reader: Reader): Promise<string[] | undefined> {
  try {
    const a = await send(
      instance.url,
      { method: 'GET', path: '/v1/accounts?limit=500' },
      await reader.who.current(w),
      REQUEST_TIMEOUT_MS,
    );
    if (a.status === 401) await reader.who.refresh(w, 5000);
    if (a.status !== 200) return undefined;
    if (a.body.nextCursor !== null) return [`one page of 500 did not hold every account ${reader.label} sees`];
    return auditSnapshot(reader, a.body.data);
  } catch (error) {
    if (error instanceof NoAnswer) return undefined;
    throw error;
  }
}

/** Each ledger's auditor and the unlimited one in turn, on each instance in turn. */
async function auditor(w: World, until: () => boolean): Promise<void> {
  const all = readers(w);
  for (let i = 0; !until(); i++) {
    const reader = all[Math.floor(i / w.instances.length) % all.length]!;
    const problems = await auditOnce(w, w.instances[i % w.instances.length]!, reader);
    if (problems === undefined) {
      w.stats.auditorFailedReads++;
      await sleep(100);
      continue;
    }
    w.stats.auditorReads++;
    w.stats.auditorViolations += problems.length;
    for (const p of problems) w.violations.push(`auditor read ${w.stats.auditorReads}: ${p}`);
    await sleep(75);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Isolation

/** `own`'s scoped operator or auditor, asking until the answer is definite. */
const askAs =
  (w: World, seat: Seat, own: Ledger): Ask =>
  (who, call) =>
    perform(w, seat, call, own[who]);

/** Runs one isolation probe (test/chaos/isolation.ts) of `own`'s scoped callers against `other`. */
async function isolationProbe(w: World, seat: Seat, name: string, own: Ledger, other: Ledger): Promise<void> {
  const problems = await probe(name, own, other, askAs(w, seat, own));
  if (problems === undefined) return; // nothing to probe yet, or the run is over
  w.stats.isolationProbes++;
  w.stats.isolationViolations += problems.length;
  for (const p of problems) w.violations.push(`isolation, ${name}: ${p}`);
}

/** All along the run: a scoped caller of one ledger asks about another's things, one probe after another. */
async function prober(w: World, rng: Rng, until: () => boolean): Promise<void> {
  if (w.ledgers.length < 2) return;
  const seat: Seat = { index: -3, instance: 0 };
  for (let i = 0; !until(); i++) {
    const own = pick(rng, w.ledgers);
    const other = pick(
      rng,
      w.ledgers.filter((l) => l !== own),
    );
    seat.instance = i % w.instances.length;
    await isolationProbe(w, seat, PROBE_NAMES[i % PROBE_NAMES.length]!, own, other);
    await sleep(50);
  }
}

/** At the end: every probe, for every ledger against every other. */
async function checkIsolation(w: World): Promise<void> {
  await Promise.all(
    w.ledgers.map(async (own) => {
      const seat: Seat = { index: -3, instance: own.index % w.instances.length };
      for (const other of w.ledgers) {
        if (other === own) continue;
        for (const name of PROBE_NAMES) await isolationProbe(w, seat, name, own, other);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Faults

const FAULT_PLAN: FaultKind[] = ['terminate-backends', 'kill-instance', 'terminate-backends', 'restart-postgres'];

async function injectFault(w: World, kind: FaultKind, n: number, rng: Rng): Promise<void> {
  if (kind === 'terminate-backends') {
    const killed = await w.pg.withClient(async (c) => {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
         FROM pg_stat_activity WHERE application_name LIKE 'ledger-chaos-%'`,
      );
      return rows[0]?.n ?? 0;
    });
    w.stats.backendsTerminated += killed;
    say(w, `fault ${n}: terminated ${killed} backends`);
  } else if (kind === 'kill-instance') {
    const victim = w.instances[w.stats.faults['kill-instance'] % w.instances.length]!;
    const pid = victim.pid;
    await victim.kill();
    await sleep(between(rng, 200, 1000));
    say(w, `fault ${n}: SIGKILLed ${victim.name} (pid ${pid}), restarting`);
    await victim.start(READY_WITHIN_MS);
  } else {
    await w.pg.stop();
    const down = between(rng, 1000, 2000);
    await sleep(down);
    await w.pg.start();
    say(w, `fault ${n}: PostgreSQL stopped for ${down} ms and started again`);
  }
  w.stats.faults[kind]++;
}

async function nemesis(w: World, rng: Rng): Promise<void> {
  const stride = w.opts.operations / (w.opts.minFaults + 1);
  let lastRecovered = Date.now();
  for (let n = 1; !w.clientsDone && w.aborted === undefined;) {
    const gap = Date.now() - lastRecovered;
    const due = w.started >= n * stride || gap >= w.opts.maxFaultGapMs;
    if (!due || gap < w.opts.minFaultGapMs || stopClients(w)) {
      await sleep(50);
      continue;
    }
    const kind = FAULT_PLAN[(n - 1) % FAULT_PLAN.length]!;
    const faultAt = Date.now();
    try {
      await injectFault(w, kind, n, rng);
    } catch (error) {
      w.violations.push(`fault ${n} (${kind}) could not be carried out or undone: ${(error as Error).message}`);
      w.aborted ??= `fault ${n} (${kind}) failed`;
      return;
    }
    for (const instance of w.instances) {
      if (!(await recovered(w, instance))) {
        if (w.aborted !== undefined) return; // it crashed: that is reported already
        w.violations.push(`${instance.name} was not ready within ${READY_WITHIN_MS} ms of fault ${n} (${kind})`);
        w.aborted = `${instance.name} did not recover from fault ${n}`;
        return;
      }
    }
    w.stats.recoveryMs.push(Date.now() - faultAt);
    lastRecovered = Date.now();
    n++;
  }
}

/** Whether `/health/ready` answers 200 within READY_WITHIN_MS (false at once when the run is aborted). */
async function recovered(w: World, instance: ServiceInstance): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < READY_WITHIN_MS && w.aborted === undefined) {
    try {
      const a = await send(instance.url, { method: 'GET', path: '/health/ready' }, undefined, 2000);
      if (a.status === 200) return true;
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
    }
    await sleep(200);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// End checks

interface TransferRow {
  id: string;
  ledger_id: string;
  external_id: string | null;
  description: string | null;
  reversal_of: string | null;
  batch_id: string | null;
  status: string;
  amount: string;
  posted_amount: string;
  debit_account_id: string;
  credit_account_id: string;
}

/** A transaction operation's answer is the transaction alone (its id is in the transfers' id space). */
const ackedTransfers = (op: Op): any[] =>
  op.kind === 'batch' || op.kind === 'setup' ? op.answer!.body.transfers : [op.answer!.body];

interface TransactionRow {
  id: string;
  ledger_id: string;
  external_id: string | null;
  description: string | null;
  reversal_of: string | null;
  reversed_by: string | null;
  status: string;
  postings: Posting[];
}

/** The rows in the database, in all and per ledger id. */
interface RowCounts {
  transfers: number;
  transactions: number;
  entries: number;
  byLedger: Map<string, InDb>;
}

interface InDb {
  transfers: number;
  transactions: number;
  entries: number;
}

const noRows = (): InDb => ({ transfers: 0, transactions: 0, entries: 0 });

/** Postings compared by what they move: jsonb keeps an object's keys in an order of its own. */
const postingsKey = (postings: readonly Posting[]): string =>
  postings.map((p) => `${p.accountId} ${p.direction} ${p.amount} ${p.currency}`).join('; ');

const flipped = (postings: readonly Posting[]): Posting[] =>
  postings.map((p) => ({ ...p, direction: p.direction === 'debit' ? 'credit' : 'debit' }));

async function checkRows(w: World): Promise<RowCounts> {
  const v = (message: string): void => void w.violations.push(message);
  const { rows, transactions, entries } = await w.pg.withClient(async (c) => {
    const t = await c.query<TransferRow>(
      `SELECT id, ledger_id, external_id, description, reversal_of, batch_id, status, amount::text,
              posted_amount::text, debit_account_id, credit_account_id FROM transfers`,
    );
    const x = await c.query<TransactionRow>(
      'SELECT id, ledger_id, external_id, description, reversal_of, reversed_by, status, postings FROM transactions',
    );
    const e = await c.query<{ ledger_id: string; n: number }>(
      'SELECT ledger_id, count(*)::int AS n FROM ledger_entries GROUP BY ledger_id',
    );
    return { rows: t.rows, transactions: x.rows, entries: e.rows };
  }, new URL(w.databaseUrl).pathname.slice(1));
  const counts: RowCounts = {
    transfers: rows.length,
    transactions: transactions.length,
    entries: 0,
    byLedger: new Map(),
  };
  const countsOf = (ledgerId: string): InDb => {
    const c = counts.byLedger.get(ledgerId) ?? noRows();
    counts.byLedger.set(ledgerId, c);
    return c;
  };
  for (const e of entries) {
    counts.entries += e.n;
    countsOf(e.ledger_id).entries = e.n;
  }

  const opByExternalId = new Map<string, Op>();
  const opByTag = new Map<string, Op>();
  for (const op of w.ops) {
    for (const x of op.externalIds) opByExternalId.set(x, op);
    if (op.tag !== undefined) opByTag.set(op.tag, op);
  }
  const byId = new Map<string, TransferRow>();
  const rowsOfOp = new Map<Op, TransferRow[]>();
  const seenExternal = new Set<string>();
  for (const row of rows) {
    byId.set(row.id, row);
    countsOf(row.ledger_id).transfers++;
    let op: Op | undefined;
    if (row.external_id !== null) {
      if (seenExternal.has(row.external_id)) v(`externalId ${row.external_id} appears on two transfers`);
      seenExternal.add(row.external_id);
      op = opByExternalId.get(row.external_id);
    } else if (row.reversal_of !== null && row.description !== null) {
      op = opByTag.get(row.description);
    }
    if (op === undefined) {
      v(`transfer ${row.id} (externalId ${row.external_id}) has no request behind it`);
      continue;
    }
    if (TRANSACTION_KINDS.has(op.kind)) {
      v(`transfer ${row.id} carries the reference of ${op.id} (${op.kind}), which makes transactions only`);
      continue;
    }
    rowsOfOp.set(op, [...(rowsOfOp.get(op) ?? []), row]);
    const { ledger } = op;
    if (
      row.ledger_id !== ledger.id ||
      !ledger.accountIds.has(row.debit_account_id) ||
      !ledger.accountIds.has(row.credit_account_id)
    ) {
      v(`transfer ${row.id} of ${op.id} is not of ledger ${ledger.name} alone: ${JSON.stringify(row)}`);
    }
    if (op.answer !== undefined && op.answer.status >= 300) {
      v(`transfer ${row.id} exists although its request ${op.id} was refused: ${op.answer.body?.code}`);
    } else if (op.answer !== undefined && !ackedTransfers(op).some((t) => t.id === row.id)) {
      v(`transfer ${row.id} carries the reference of ${op.id}, which was acknowledged with other transfers`);
    }
  }
  for (const [op, opRows] of rowsOfOp) {
    if (opRows.length !== Math.max(1, op.externalIds.length)) {
      v(
        `operation ${op.id} (${op.kind}) has ${opRows.length} transfer rows, expected ${Math.max(1, op.externalIds.length)}`,
      );
    }
    if (new Set(opRows.map((r) => r.batch_id)).size > 1) v(`operation ${op.id} spread over several batches`);
  }

  for (const op of w.ops) {
    if (op.answer === undefined || op.answer.status >= 300 || TRANSACTION_KINDS.has(op.kind)) continue;
    const body = op.answer.body;
    if (CREATING.has(op.kind)) {
      const acked = ackedTransfers(op);
      const sent: any[] =
        op.kind === 'batch' || op.kind === 'setup' ? (op.call.body as any).transfers : [op.call.body ?? {}];
      acked.forEach((t, i) => {
        const row = byId.get(t.id);
        if (row === undefined) return v(`acknowledged transfer ${t.id} of ${op.id} is not in the database`);
        if (op.kind === 'reverse') {
          if (row.reversal_of !== op.target) v(`reversal ${t.id} of ${op.id} reverses ${row.reversal_of}`);
          if (sent[i]?.amount !== undefined && row.amount !== sent[i].amount)
            v(`reversal ${t.id}: amount ${row.amount}`);
          if (row.description !== op.tag) v(`reversal ${t.id}: description ${row.description}`);
          return;
        }
        const s = sent[i];
        if (
          row.external_id !== s.externalId ||
          row.amount !== s.amount ||
          row.debit_account_id !== s.debitAccountId ||
          row.credit_account_id !== s.creditAccountId
        ) {
          v(`acknowledged transfer ${t.id} of ${op.id} differs from its request: ${JSON.stringify(row)}`);
        }
        if ((op.kind === 'batch' || op.kind === 'setup') && row.batch_id !== body.batchId) {
          v(`transfer ${t.id} of ${op.id} is not in batch ${body.batchId}`);
        }
      });
    } else if (op.kind === 'post') {
      const row = byId.get(op.target!);
      if (row?.status !== 'posted' || row.posted_amount !== body.postedAmount) {
        v(`acknowledged post ${op.id} of ${op.target}: the transfer is ${row?.status} ${row?.posted_amount}`);
      }
    } else if (op.kind === 'void') {
      const row = byId.get(op.target!);
      if (row?.status !== 'voided') v(`acknowledged void ${op.id} of ${op.target}: the transfer is ${row?.status}`);
    }
  }
  for (const row of transactions) countsOf(row.ledger_id).transactions++;
  checkTransactionRows(w, transactions, opByExternalId, opByTag);
  return counts;
}

/**
 * The same for transactions: every row tied to the request that made it (its externalId, or a reversal's
 * description), in that request's ledger, and absent when the request was refused; every acknowledged request's
 * row as sent (a reversal: its original's postings flipped). And, as every operation got a definite answer, each
 * row's fate is what the acknowledged requests say: posted or voided by exactly one acknowledged post or void
 * when it was created pending, otherwise by none, and reversed exactly when one reversal of it was acknowledged.
 */
function checkTransactionRows(
  w: World,
  rows: TransactionRow[],
  opByExternalId: Map<string, Op>,
  opByTag: Map<string, Op>,
): void {
  const v = (message: string): void => void w.violations.push(message);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const opOfRow = new Map<string, Op>();
  const rowOfOp = new Map<Op, TransactionRow>();
  for (const row of rows) {
    const op =
      row.external_id !== null
        ? opByExternalId.get(row.external_id)
        : row.reversal_of !== null && row.description !== null
          ? opByTag.get(row.description)
          : undefined;
    if (op === undefined) {
      v(`transaction ${row.id} (externalId ${row.external_id}) has no request behind it`);
      continue;
    }
    if (!TRANSACTION_KINDS.has(op.kind) || !CREATING.has(op.kind)) {
      v(`transaction ${row.id} carries the reference of ${op.id} (${op.kind}), which makes no transaction`);
      continue;
    }
    opOfRow.set(row.id, op);
    if (rowOfOp.has(op))
      v(`operation ${op.id} (${op.kind}) has two transaction rows: ${rowOfOp.get(op)!.id}, ${row.id}`);
    rowOfOp.set(op, row);
    const { ledger } = op;
    if (row.ledger_id !== ledger.id || !row.postings.every((p) => ledger.accountIds.has(p.accountId))) {
      v(`transaction ${row.id} of ${op.id} is not of ledger ${ledger.name} alone: ${JSON.stringify(row)}`);
    }
    if (op.answer !== undefined && op.answer.status >= 300) {
      v(`transaction ${row.id} exists although its request ${op.id} was refused: ${op.answer.body?.code}`);
    } else if (op.answer !== undefined && op.answer.body.id !== row.id) {
      v(`transaction ${row.id} carries the reference of ${op.id}, which was acknowledged with ${op.answer.body.id}`);
    }
  }

  /** The acknowledged posts, voids and reversals of each transaction. */
  const settled = new Map<string, OpKind[]>();
  for (const op of w.ops) {
    if (!TRANSACTION_KINDS.has(op.kind) || op.answer === undefined || op.answer.status >= 300) continue;
    const body = op.answer.body;
    if (op.target !== undefined) settled.set(op.target, [...(settled.get(op.target) ?? []), op.kind]);
    if (op.kind === 'transaction' || op.kind === 'pending-transaction') {
      const row = byId.get(body.id);
      if (row === undefined) {
        v(`acknowledged transaction ${body.id} of ${op.id} is not in the database`);
        continue;
      }
      const sent = op.call.body as { postings: Posting[]; externalId: string };
      const status = op.kind === 'transaction' ? 'posted' : 'pending';
      if (
        row.external_id !== sent.externalId ||
        postingsKey(row.postings) !== postingsKey(sent.postings) ||
        postingsKey(body.postings) !== postingsKey(sent.postings) ||
        body.status !== status ||
        (status === 'posted' && row.status !== 'posted')
      ) {
        v(
          `acknowledged transaction ${body.id} of ${op.id} (${body.status}) differs from its request: ${JSON.stringify(row)}`,
        );
      }
    } else if (op.kind === 'reverse-transaction') {
      const row = byId.get(body.id);
      const original = byId.get(op.target!);
      if (row === undefined || original === undefined) {
        v(`acknowledged reversal ${body.id} of ${op.id}, or its original ${op.target}, is not in the database`);
        continue;
      }
      if (
        row.reversal_of !== op.target ||
        row.description !== op.tag ||
        row.status !== 'posted' ||
        postingsKey(row.postings) !== postingsKey(flipped(original.postings)) ||
        original.reversed_by !== row.id
      ) {
        v(
          `acknowledged reversal ${body.id} of ${op.id} is not ${op.target} flipped: ${JSON.stringify([row, original])}`,
        );
      }
    } else {
      const row = byId.get(op.target!);
      const status = op.kind === 'post-transaction' ? 'posted' : 'voided';
      if (row?.status !== status || body.status !== status || body.id !== op.target) {
        v(
          `acknowledged ${op.kind} ${op.id} of ${op.target}: the transaction is ${row?.status}, answered ${body.status}`,
        );
      }
    }
  }

  // Exact only when every operation got its definite answer; an aborted run is reported already.
  if (w.aborted !== undefined) return;
  for (const row of rows) {
    const op = opOfRow.get(row.id);
    if (op === undefined) continue;
    const fate = (settled.get(row.id) ?? []).sort().join(',');
    const expected = [
      ...(op.kind === 'pending-transaction' && row.status === 'posted' ? ['post-transaction'] : []),
      ...(row.status === 'voided' ? ['void-transaction'] : []),
      ...(row.reversed_by !== null ? ['reverse-transaction'] : []),
    ]
      .sort()
      .join(',');
    if (fate !== expected) {
      v(
        `transaction ${row.id} of ${op.id} is ${row.status} (reversed by ${row.reversed_by}), acknowledged: ${fate || 'none'}`,
      );
    }
  }
}

/** Sends acknowledged (and some refused) creates again with their key: the same outcome must come back. */
async function checkReplays(w: World, rng: Rng): Promise<number> {
  const creates = w.ops.filter((op) => op.kind !== 'setup' && CREATING.has(op.kind) && op.answer !== undefined);
  const acked = creates.filter((op) => op.answer!.status < 300);
  const refused = creates.filter((op) => op.answer!.status >= 400);
  const sample = (ops: Op[], n: number): Op[] => {
    const copy = [...ops];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  };
  // Transactions among them: their creates and reversals are replayed alike, and answer the transaction's id.
  const chosen = [...sample(acked, w.opts.replaySample), ...sample(refused, Math.ceil(w.opts.replaySample / 3))];
  const seat: Seat = { index: -2, instance: 0 };
  const ids = (a: Answer, op: Op): string =>
    a.status >= 400
      ? String(a.body?.code)
      : ackedTransfers({ ...op, answer: a })
          .map((t) => t.id as string)
          .join(',');
  for (const op of chosen) {
    seat.instance = Math.floor(rng() * w.instances.length);
    const again = await perform(w, seat, op.call, op.ledger.operator);
    if (again === undefined) {
      w.violations.push(`replay of ${op.id} got no definite answer`);
      continue;
    }
    const first = op.answer!;
    if (again.status !== first.status || !again.replayed || ids(again, op) !== ids(first, op)) {
      w.violations.push(
        `replay of ${op.id} (${op.kind}) answered ${again.status} replayed=${again.replayed} ${ids(again, op)}, first ${first.status} ${ids(first, op)}`,
      );
    }
  }
  return chosen.length;
}

async function checkVerify(w: World): Promise<void> {
  const before = Date.now();
  let a: Answer | undefined;
  while (a === undefined && Date.now() - before < OP_DEADLINE_MS) {
    try {
      a = await send(
        w.instances[0]!.url,
        { method: 'GET', path: '/v1/audit/verify' },
        await w.auditor.current(w),
        120_000,
      );
      if (a.status >= 500) a = undefined;
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
    }
    if (a === undefined) await sleep(500);
  }
  if (a?.status !== 200 || a.body.ok !== true) {
    w.violations.push(`GET /v1/audit/verify: ${a?.status} ${a?.text.slice(0, 2000)}`);
  }
}

/** The fields of `expected` that `actual` has otherwise. */
const unlike = (actual: any, expected: Record<string, unknown>): string[] =>
  Object.keys(expected).filter((k) => actual?.[k] !== expected[k]);

interface Posted {
  debits: bigint;
  credits: bigint;
}

/**
 * The posted debits and credits of each of the ledger's accounts, and the number of its entries, as the definite
 * answers add them up: every transfer and transaction acknowledged as posted when it was created (a reversal
 * too), and every pending one acknowledged as posted later; pending ones that were voided or expired moved
 * nothing. A posted transfer writes two entries, a posted transaction one per posting. Exact, as every operation
 * got a definite answer (the run is aborted otherwise).
 */
function expectedBooks(w: World, ledger: Ledger): { sums: Map<string, Posted>; entries: number } {
  const sums = new Map<string, Posted>(ledger.accounts.map((a) => [a.id, { debits: 0n, credits: 0n }]));
  let entries = 0;
  for (const op of w.ops) {
    if (op.ledger !== ledger || op.answer === undefined || op.answer.status >= 300) continue;
    if (TRANSACTION_KINDS.has(op.kind)) {
      // The answer of a create, a post or a reversal is the transaction that moved, posted; of a void, none.
      const t = op.answer.body;
      if (t.status !== 'posted') continue;
      for (const p of t.postings as Posting[]) {
        const sum = sums.get(p.accountId);
        if (sum === undefined) {
          w.violations.push(`ledger ${ledger.name}: ${op.id} was answered with transaction ${t.id} of other accounts`);
          continue;
        }
        if (p.direction === 'debit') sum.debits += BigInt(p.amount);
        else sum.credits += BigInt(p.amount);
        entries++;
      }
      continue;
    }
    for (const t of ackedTransfers(op)) {
      if (t.status !== 'posted') continue;
      const [debit, credit] = [sums.get(t.debitAccountId), sums.get(t.creditAccountId)];
      if (debit === undefined || credit === undefined) {
        w.violations.push(`ledger ${ledger.name}: ${op.id} was answered with transfer ${t.id} of other accounts`);
        continue;
      }
      debit.debits += BigInt(t.postedAmount);
      credit.credits += BigInt(t.postedAmount);
      entries += 2;
    }
  }
  return { sums, entries };
}

/**
 * One ledger's books at the end, read by the unlimited auditor with `?ledgerId=` and by the ledger's own callers:
 * each account's posted counters, the trial balance and the number of entries as the model expects them,
 * verification of the ledger alone (the same for its own auditor, who sees nothing else), and every transfer,
 * transaction (a list of both) and entry of the ledger between its own accounts, as many as the database holds
 * and the same that its scoped callers list.
 */
async function checkLedger(w: World, ledger: Ledger, inDb: InDb): Promise<void> {
  const seat: Seat = { index: -4, instance: ledger.index % w.instances.length };
  const v = (message: string): void => void w.violations.push(`ledger ${ledger.name}: ${message}`);
  const read = async (who: Credentials, path: string, timeoutMs?: number): Promise<any> => {
    const a = await perform(w, seat, { method: 'GET', path }, who, undefined, timeoutMs);
    if (a?.status !== 200) throw new Error(`GET ${path}: ${a?.status} ${a?.text.slice(0, 500)}`);
    return a.body;
  };
  const readAll = async (who: Credentials, path: string): Promise<any[]> => {
    const rows: any[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = await read(who, `${path}${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      rows.push(...page.data);
      cursor = page.nextCursor;
    }
    return rows;
  };
  const ids = (rows: any[]): string => rows.map((r) => r.id as string).join(',');
  const ofLedger = `ledgerId=${ledger.id}`;

  const { sums: expected, entries: expectedEntries } = expectedBooks(w, ledger);
  if (inDb.entries !== expectedEntries) {
    v(`the database holds ${inDb.entries} entries, the acknowledged transfers and transactions ${expectedEntries}`);
  }
  let [debits, credits] = [0n, 0n];
  for (const p of expected.values()) [debits, credits] = [debits + p.debits, credits + p.credits];
  const accounts = await readAll(w.auditor, `/v1/accounts?${ofLedger}&limit=500`);
  if (accounts.length !== ledger.accounts.length) v(`${accounts.length} accounts, expected ${ledger.accounts.length}`);
  for (const a of accounts) {
    const want = expected.get(a.id);
    if (want === undefined) v(`account ${a.id} is not one of the ledger's`);
    else if (a.balances.debitsPosted !== String(want.debits) || a.balances.creditsPosted !== String(want.credits)) {
      v(
        `account ${a.id} has posted debits ${a.balances.debitsPosted} and credits ${a.balances.creditsPosted}, ` +
          `the acknowledged transfers and transactions add up to ${want.debits} and ${want.credits}`,
      );
    }
  }
  // Named by its name here, by its id elsewhere: both must work for the unlimited auditor.
  const trial = await read(w.auditor, `/v1/audit/trial-balance?ledgerId=${ledger.name}`);
  const row = {
    ledgerId: ledger.id,
    currency: CURRENCY,
    totalDebits: String(debits),
    totalCredits: String(credits),
    balanced: true,
    accountCount: ledger.accounts.length,
  };
  if (trial.currencies.length !== 1 || unlike(trial.currencies[0], row).length > 0) {
    v(`trial balance ${JSON.stringify(trial.currencies)}, expected the one row ${JSON.stringify(row)}`);
  }

  const verified = await read(w.auditor, `/v1/audit/verify?${ofLedger}`, 120_000);
  const checked = {
    ok: true,
    checkedAccounts: ledger.accounts.length,
    checkedEntries: inDb.entries,
    checkedTransfers: inDb.transfers,
    checkedTransactions: inDb.transactions,
  };
  if (unlike(verified, checked).length > 0 || !(verified.checkedEntries > 0)) {
    v(`verify: ${JSON.stringify(verified).slice(0, 2000)}, expected ${JSON.stringify(checked)}`);
  }
  // The balance sheet (SPEC 12) after the faults: the bank's accounts have no type, so every one of them is in
  // `unclassified` and the typed sections hold nothing; the equation holds at zero on both sides.
  const sheet = await read(w.auditor, `/v1/reports/balance-sheet?${ofLedger}`, 30_000);
  const typed = [sheet.assets, sheet.liabilities, sheet.equity].map((section: { total: string }) => section.total);
  if (
    sheet.balanced !== true ||
    sheet.retainedEarnings !== '0' ||
    typed.some((total: string) => total !== '0') ||
    sheet.unclassified.accounts.length !== ledger.accounts.length
  ) {
    v(
      `balance sheet ${JSON.stringify(sheet).slice(0, 500)}: expected nothing typed and ${ledger.accounts.length} unclassified`,
    );
  }
  const verifiedByOwn = await read(ledger.auditor, '/v1/audit/verify', 120_000);
  if (JSON.stringify(verifiedByOwn) !== JSON.stringify(verified)) {
    v(`verify by its own auditor ${JSON.stringify(verifiedByOwn).slice(0, 500)} differs from the ledger's`);
  }

  const transfers = await readAll(w.auditor, `/v1/transfers?${ofLedger}&limit=500`);
  if (transfers.length !== inDb.transfers)
    v(`${transfers.length} transfers listed, the database holds ${inDb.transfers}`);
  for (const t of transfers) {
    if (
      t.ledgerId !== ledger.id ||
      !ledger.accountIds.has(t.debitAccountId) ||
      !ledger.accountIds.has(t.creditAccountId)
    ) {
      v(`transfer ${t.id} is not between the ledger's accounts: ${JSON.stringify(t)}`);
    }
  }
  if (ids(await readAll(ledger.operator, '/v1/transfers?limit=500')) !== ids(transfers)) {
    v("its operator's transfers differ from the ledger's");
  }
  // One id space: the transactions list shows the transfers too, each as two postings.
  const movements = await readAll(w.auditor, `/v1/transactions?${ofLedger}&limit=500`);
  if (movements.length !== inDb.transfers + inDb.transactions) {
    v(
      `${movements.length} transactions listed, the database holds ${inDb.transfers} transfers and ${inDb.transactions} transactions`,
    );
  }
  for (const t of movements) {
    if (t.ledgerId !== ledger.id || !(t.postings as Posting[]).every((p) => ledger.accountIds.has(p.accountId))) {
      v(`transaction ${t.id} is not between the ledger's accounts: ${JSON.stringify(t)}`);
    }
  }
  if (ids(await readAll(ledger.operator, '/v1/transactions?limit=500')) !== ids(movements)) {
    v("its operator's transactions differ from the ledger's");
  }
  const entries = await readAll(w.auditor, `/v1/ledger/entries?${ofLedger}&limit=500`);
  if (entries.length !== inDb.entries) v(`${entries.length} entries listed, the database holds ${inDb.entries}`);
  for (const e of entries) {
    if (e.ledgerId !== ledger.id || !ledger.accountIds.has(e.accountId)) {
      v(`entry ${e.id} is not of the ledger's accounts: ${JSON.stringify(e)}`);
    }
  }
  if (ids(await readAll(ledger.auditor, '/v1/ledger/entries?limit=500')) !== ids(entries)) {
    v("its auditor's journal differs from the ledger's");
  }
}

/** Every ledger's end checks, at once; a check that cannot be carried out is a violation. */
async function checkLedgers(w: World, counts: RowCounts): Promise<void> {
  await Promise.all(
    w.ledgers.map((ledger) =>
      checkLedger(w, ledger, counts.byLedger.get(ledger.id) ?? noRows()).catch((error: unknown) => {
        w.violations.push(`ledger ${ledger.name} could not be checked: ${(error as Error).message}`);
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The run

// ---------------------------------------------------------------------------------------------------------------
// Subscribers (SPEC 13): a webhook and a puller of the feed, through every fault

interface Subscribers {
  /** Starts the puller (as the unlimited auditor, who exists once the set-up has run). */
  pull(): void;
  /** After the run: both saw every transfer ever created exactly once (the webhook's deduplicated on webhook-id). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

async function subscribe(w: World): Promise<Subscribers> {
  const delivered = new Map<string, string>(); // webhook-id → transfer id
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const event = JSON.parse(body) as { id: string; data: { id: string } };
      if (req.headers['webhook-id'] !== event.id)
        w.violations.push(`webhook-id ${String(req.headers['webhook-id'])} ≠ ${event.id}`);
      delivered.set(event.id, event.data.id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  const admin = new Credentials(ADMIN.username, ADMIN.password);
  const seat: Seat = { index: -2, instance: 0 };
  await definite(
    w,
    seat,
    { method: 'POST', path: '/v1/webhooks', key: `${w.runId}-webhook`, body: { url, types: ['transfer.created'] } },
    admin,
    201,
  );
  const pulled: string[] = [];
  let after = '0';
  let pulling = true;
  let puller: Promise<void> = Promise.resolve();
  const pull = async (): Promise<void> => {
    const at: Seat = { index: -3, instance: 1 };
    while (pulling && w.aborted === undefined) {
      const a = await perform(
        w,
        at,
        { method: 'GET', path: `/v1/events?types=transfer.created&after=${after}&limit=500&waitSeconds=1` },
        w.auditor,
      );
      if (a === undefined || a.status !== 200) continue;
      for (const e of a.body.data as { seq: string; data: { id: string } }[]) pulled.push(e.data.id);
      after = (a.body.nextCursor ?? a.body.lastSeq) as string;
    }
  };
  const created = async (): Promise<string[]> =>
    w.pg.withClient(
      async (c) => (await c.query<{ id: string }>('SELECT id FROM transfers')).rows.map((r) => r.id),
      new URL(w.databaseUrl).pathname.slice(1),
    );
  return {
    pull() {
      puller = pull();
    },
    async check() {
      const expected = (await created()).sort();
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (pulled.length < expected.length || delivered.size < expected.length)) {
        await sleep(200);
      }
      let ok = true;
      const same = (name: string, got: string[]): void => {
        const sorted = [...got].sort();
        if (sorted.length !== expected.length || sorted.some((id, i) => id !== expected[i])) {
          ok = false;
          w.violations.push(
            `${name} saw ${got.length} transfer.created events (${new Set(got).size} distinct) for ${expected.length} transfers`,
          );
        }
      };
      same('the puller', pulled);
      same('the webhook', [...delivered.values()]);
      if (ok) say(w, `subscribers: the puller and the webhook each saw all ${expected.length} transfers once`);
    },
    async stop() {
      pulling = false;
      await puller;
      await new Promise<void>((done) => receiver.close(() => done()));
    },
  };
}

export async function runBank(opts: BankOptions): Promise<BankReport> {
  const began = Date.now();
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = seededRandom(seed);
  const runId = `chaos-${randomBytes(3).toString('hex')}`;
  const instances: ServiceInstance[] = [];
  const w: World = {
    opts,
    runId,
    pg: undefined as unknown as ChaosPostgres,
    databaseUrl: '',
    instances,
    ledgers: Array.from({ length: opts.ledgers }, (_, index) => newLedger(runId, index)),
    auditor: newCredentials(`${runId}-auditor`),
    ops: [],
    started: 0,
    stats: {
      retries: 0,
      retriesByReason: {},
      appliedBeforeRetry: 0,
      appliedDespite5xx: 0,
      logins: 0,
      faults: { 'terminate-backends': 0, 'kill-instance': 0, 'restart-postgres': 0 },
      backendsTerminated: 0,
      recoveryMs: [],
      auditorReads: 0,
      auditorFailedReads: 0,
      auditorViolations: 0,
      isolationProbes: 0,
      isolationViolations: 0,
    },
    violations: [],
    findings: [],
    clientsDone: false,
    aborted: undefined,
    crashed: new Set(),
    runStartedAt: Date.now(),
  };
  let runMs = 0;
  let counts: RowCounts = { transfers: 0, transactions: 0, entries: 0, byLedger: new Map() };
  let replaysChecked = 0;
  let subscribers: Subscribers | undefined;
  const logFiles: string[] = [];
  /** A background task that fails records it and stops the run, instead of rejecting unobserved. */
  const guarded = (what: string, task: Promise<void>): Promise<void> =>
    task.catch((error: unknown) => {
      w.violations.push(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      w.aborted ??= `${what} failed`;
    });
  try {
    w.pg = await ChaosPostgres.create();
    w.databaseUrl = await w.pg.createDatabase(`ledger_${runId.replace('-', '_')}`);
    const secret = randomBytes(32).toString('hex');
    for (const name of ['a', 'b']) {
      instances.push(
        new ServiceInstance(
          `ledger-chaos-${name}`,
          {
            DATABASE_URL: w.databaseUrl,
            JWT_SECRET: secret,
            CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
            ADMIN_USERNAME: ADMIN.username,
            ADMIN_PASSWORD: ADMIN.password,
            HOST: '127.0.0.1',
            PORT: String(await freePort()),
            DB_APPLICATION_NAME: `ledger-chaos-${name}`,
            // SIGUSR2 makes it write a diagnostic report (its open handles) should it hang on SIGTERM.
            NODE_OPTIONS: `--report-on-signal --report-signal=SIGUSR2 --report-directory=${tmpdir()}`,
            DB_POOL_SIZE: '10',
            LOG_LEVEL: 'warn',
            // The subscribers' receiver is on loopback; a delivery cut by a fault is retried soon.
            WEBHOOK_ALLOW_PRIVATE: 'true',
            WEBHOOK_RETRY_BASE_SECONDS: '0.2',
          },
          (instance, code) => {
            // Its own words (an uncaught error's stack), not the JSON log lines before them.
            const tail = (
              instance
                .output()
                .split(/^----- .* ended -----$/m)
                .pop() ?? ''
            )
              .split('\n')
              .filter((l) => l.trim() !== '' && !l.startsWith('{'))
              .slice(0, 40)
              .join('\n      ');
            w.violations.push(`${instance.name} exited on its own with code ${code}; its last output:\n      ${tail}`);
            w.aborted ??= `${instance.name} crashed`;
            w.crashed.add(instance.name);
          },
        ),
      );
    }
    for (const instance of instances) await instance.start(READY_WITHIN_MS);
    // Subscribed before anything is created, so that the webhook owes every transfer of the run.
    subscribers = await subscribe(w);
    await setup(w);
    subscribers.pull();
    say(
      w,
      `${runId}: ${opts.ledgers} ledgers of ${w.ledgers[0]?.accounts.length} accounts funded, ` +
        `${opts.clients} clients starting (seed ${seed})`,
    );

    w.runStartedAt = Date.now();
    const seats = Array.from({ length: opts.clients }, (_, i) => ({ index: i, instance: i % instances.length }));
    const clients = Promise.all(
      seats.map((seat) => {
        const ledger = w.ledgers[seat.index % w.ledgers.length]!;
        return guarded(`client ${seat.index}`, client(w, ledger, seat, seededRandom(seed + 1 + seat.index)));
      }),
    );
    const nemesisDone = guarded('the nemesis', nemesis(w, seededRandom(seed + 1000)));
    const auditorDone = guarded(
      'the auditor',
      auditor(w, () => w.clientsDone),
    );
    const proberDone = guarded(
      'the isolation prober',
      prober(w, seededRandom(seed + 2000), () => w.clientsDone),
    );
    let lastReport = Date.now();
    const progress = setInterval(() => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      say(
        w,
        `${w.started} operations, ${faultsTotal(w)} faults, ${w.stats.retries} retries, ${w.violations.length} violations`,
      );
    }, 1000);
    await clients;
    w.clientsDone = true;
    const unresolved = w.ops.filter((op) => op.unresolved);
    if (unresolved.length > 0) {
      w.violations.push(
        `${unresolved.length} operations were left without a definite answer (${unresolved
          .slice(0, 5)
          .map((op) => op.id)
          .join(', ')}…): ${w.aborted}`,
      );
    }
    clearInterval(progress);
    await nemesisDone;
    await auditorDone;
    await proberDone;
    runMs = Date.now() - w.runStartedAt;

    // The end: a final read by every auditor, replays, the rows against the requests, the SQL invariants, verify,
    // each ledger's books against the model, and every isolation probe between every two ledgers.
    if (w.aborted === undefined) {
      for (const reader of readers(w)) {
        const final = await auditOnce(w, instances[0]!, reader);
        if (final === undefined) w.violations.push(`the final read by ${reader.label} failed`);
        else for (const p of final) w.violations.push(`final read by ${reader.label}: ${p}`);
      }
      replaysChecked = await checkReplays(w, rng);
    }
    counts = await checkRows(w);
    for (const p of await ledgerViolations(w.databaseUrl)) w.violations.push(`ledgerViolations: ${p}`);
    if (w.aborted === undefined) {
      await checkVerify(w);
      await checkLedgers(w, counts);
      await checkIsolation(w);
      await subscribers?.check();
    }
  } catch (error) {
    w.violations.push(`the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await subscribers?.stop();
    for (const instance of instances) {
      let stuckOn = '';
      const code = await instance.stop(15_000, async () => {
        // What the process still holds in the database when it does not finish draining.
        const rows = await w.pg.withClient(async (c) => {
          const r = await c.query(
            `SELECT pid, state, wait_event_type, wait_event, now() - state_change AS for, left(query, 80) AS query
             FROM pg_stat_activity WHERE application_name = $1`,
            [instance.name],
          );
          return r.rows;
        });
        stuckOn = `; its connections then: ${JSON.stringify(rows)}; a diagnostic report (SIGUSR2) is in ${tmpdir()}`;
        instance.signal('SIGUSR2');
        await sleep(2000);
      });
      if (code !== 0 && !w.crashed.has(instance.name)) {
        w.findings.push(`${instance.name} did not exit 0 within 15 s of SIGTERM at the end: ${code}${stuckOn}`);
      }
    }
    noteFindings(w);
    if (w.violations.length > 0 || w.findings.length > 0 || process.env.CHAOS_KEEP_LOGS) {
      for (const instance of instances) {
        const file = join(tmpdir(), `${runId}-${instance.name}.log`);
        await writeFile(file, instance.output());
        logFiles.push(file);
      }
      if (w.pg !== undefined) {
        const file = join(tmpdir(), `${runId}-postgres.log`);
        await writeFile(file, w.pg.logTail());
        logFiles.push(file);
      }
    }
    await w.pg?.destroy();
  }
  return report(w, seed, began, runMs, replaysChecked, counts, logFiles);
}

/** Answers that break the contract without breaking an invariant: a 500, or a 401 for a valid token. */
function noteFindings(w: World): void {
  for (const instance of w.instances) {
    const internal = instance.output().match(/"code":"INTERNAL_ERROR"/g)?.length ?? 0;
    if (internal > 0) w.findings.push(`${instance.name} logged ${internal} INTERNAL_ERROR (500) responses`);
  }
  const sum = (prefix: string): number =>
    Object.entries(w.stats.retriesByReason)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((s, [, n]) => s + n, 0);
  if (sum('401') > 0) w.findings.push(`${sum('401')} requests with a valid token were answered 401 around faults`);
  if (w.stats.appliedDespite5xx > 0) {
    w.findings.push(
      `${w.stats.appliedDespite5xx} writes were answered 5xx ("nothing was written") yet had been applied: ` +
        'the retry with the same key got the replay',
    );
  }
  if (sum('500') > 0) w.findings.push(`${sum('500')} answers were 500 INTERNAL_ERROR rather than 503 around faults`);
  if (w.aborted !== undefined) w.findings.push(`the run was cut short: ${w.aborted}`);
}

function report(
  w: World,
  seed: number,
  began: number,
  runMs: number,
  replaysChecked: number,
  counts: RowCounts,
  logFiles: string[],
): BankReport {
  const runOps = w.ops.filter((op) => op.kind !== 'setup');
  const byKind: Record<string, number> = {};
  const ackedByKind: Record<string, number> = {};
  const refusals: Record<string, number> = {};
  for (const op of runOps) {
    count(byKind, op.kind);
    if (op.answer === undefined) continue;
    if (op.answer.status < 300) count(ackedByKind, op.kind);
    else count(refusals, String(op.answer.body?.code ?? op.answer.status));
  }
  const acknowledged = Object.values(ackedByKind).reduce((s, n) => s + n, 0);
  const retried = runOps.filter((op) => op.attempts > 1).length;
  const faults = w.stats.faults;
  const total = faultsTotal(w);
  const durationMs = Date.now() - began;
  const fmt = (tally: Record<string, number>): string =>
    Object.entries(tally)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const summary = [
    `bank chaos (${w.opts.label}, seed ${seed}, run ${w.runId}): ${runOps.length} operations in ${(runMs / 1000).toFixed(1)} s ` +
      `(${((runOps.length * 1000) / Math.max(1, runMs)).toFixed(0)}/s), ${w.opts.clients} clients, ` +
      `${w.ledgers.length} ledgers of ${w.ledgers[0]?.accounts.length ?? 0} accounts, ${w.instances.length} instances`,
    `  ledgers:      ${w.ledgers.map((l) => `${l.name} ${runOps.filter((op) => op.ledger === l).length} operations, ${counts.byLedger.get(l.id)?.transfers ?? 0} transfers, ${counts.byLedger.get(l.id)?.transactions ?? 0} transactions`).join('; ')}`,
    `  operations:   ${fmt(byKind)}`,
    `  acknowledged: ${acknowledged} (${fmt(ackedByKind)})`,
    `  refusals:     ${fmt(refusals)}`,
    `  retries:      ${w.stats.retries} (${fmt(w.stats.retriesByReason)}); ` +
      `${retried} operations retried, ${w.stats.appliedBeforeRetry} of them found applied by an earlier attempt (replayed); ` +
      `${w.stats.logins} logins`,
    `  faults:       ${total} (${fmt(faults)}; ${w.stats.backendsTerminated} backends terminated); ` +
      `recovery max ${Math.max(0, ...w.stats.recoveryMs)} ms`,
    `  auditor:      ${w.stats.auditorReads} reads (${w.stats.auditorFailedReads} failed during faults), ${w.stats.auditorViolations} violations`,
    `  isolation:    ${w.stats.isolationProbes} probes by scoped callers of other ledgers' things, ${w.stats.isolationViolations} violations`,
    `  end:          ${counts.transfers} transfers, ${counts.transactions} transactions, ${counts.entries} entries, ${replaysChecked} replays checked`,
    `  violations:   ${w.violations.length}`,
    ...w.violations.slice(0, 30).map((v) => `    - ${v}`),
    ...(w.findings.length > 0 ? ['  findings:', ...w.findings.map((f) => `    - ${f}`)] : []),
    ...(logFiles.length > 0 ? [`  logs:         ${logFiles.join(' ')}`] : []),
    `  duration:     ${(durationMs / 1000).toFixed(1)} s in all`,
  ].join('\n');
  return {
    label: w.opts.label,
    seed,
    durationMs,
    runMs,
    operations: runOps.length,
    operationsByKind: byKind,
    acknowledged,
    acknowledgedByKind: ackedByKind,
    refusals,
    retries: w.stats.retries,
    retriesByReason: w.stats.retriesByReason,
    appliedBeforeRetry: w.stats.appliedBeforeRetry,
    faults,
    faultsTotal: total,
    backendsTerminated: w.stats.backendsTerminated,
    maxRecoveryMs: Math.max(0, ...w.stats.recoveryMs),
    auditorReads: w.stats.auditorReads,
    auditorFailedReads: w.stats.auditorFailedReads,
    auditorViolations: w.stats.auditorViolations,
    isolationProbes: w.stats.isolationProbes,
    isolationViolations: w.stats.isolationViolations,
    replaysChecked,
    transfersInDb: counts.transfers,
    transactionsInDb: counts.transactions,
    entriesInDb: counts.entries,
    findings: w.findings,
    violations: w.violations,
    logFiles,
    summary,
  };
}
