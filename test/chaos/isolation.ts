/**
 * The isolation probes of the chaos test (SPEC 9, scoped callers). A caller limited to one ledger asks about
 * another ledger's accounts, transfers and books, and must get exactly the answer that an id existing nowhere
 * gets (status and body, the id itself and the request id aside); its lists must hold its own ledger's rows
 * only. Every probe is harmless should the service leak: the request it makes then fails with a refusal that
 * writes nothing (LEDGER_MISMATCH, INSUFFICIENT_FUNDS, TRANSFER_NOT_PENDING, REVERSAL_EXCEEDS_AMOUNT). Plain
 * functions over an `ask` that sends a request as the ledger's scoped caller until its answer is definite.
 */
import { randomUUID } from 'node:crypto';
import type { Answer, Call } from './http.js';

/** What the probes need to know of a ledger (the bank's ledgers are these). */
export interface LedgerView {
  id: string;
  name: string;
  accounts: readonly { id: string; role: string }[];
  /** Transfers known to be posted (and so neither pending nor reversible beyond their amount). */
  posted: ReadonlyMap<string, unknown>;
}

export type Caller = 'operator' | 'auditor';

/** Undefined when no definite answer came (the run is over, or the service never answered). */
export type Ask = (who: Caller, call: Call) => Promise<Answer | undefined>;

interface Expected {
  status: number;
  code?: string;
  index?: number;
}

/** A request about some of the other ledger's things, answered exactly as the same about things that are nowhere. */
interface Hidden {
  who: Caller;
  /** What of the other ledger it is about, for the report. */
  what: string;
  /** The other ledger's ids it names; undefined when there is none yet. */
  theirs: (other: LedgerView) => string[] | undefined;
  call: (ids: readonly string[], own: LedgerView) => Call;
  expected: Expected;
}

/** A list that must hold the caller's own ledger's rows alone, and pass `check`. */
interface OwnRows {
  who: Caller;
  path: string;
  check: (rows: any[], own: LedgerView) => string | undefined;
}

const CURRENCY = 'USD';
/** More than any account of the run holds, and more than any transfer of the run moved. */
const TOO_MUCH = '9000000000000000000';
const NOT_FOUND: Expected = { status: 404, code: 'NOT_FOUND' };
const ACCOUNT_NOT_FOUND: Expected = { status: 422, code: 'ACCOUNT_NOT_FOUND' };

const accountOf = (ledger: LedgerView, role: string, nth = 0): string =>
  ledger.accounts.filter((a) => a.role === role)[nth]!.id;
const wallet = (ledger: LedgerView): string[] => [accountOf(ledger, 'wallet')];
const itself = (ledger: LedgerView): string[] => [ledger.id];
function postedTransfer(ledger: LedgerView): string[] | undefined {
  for (const id of ledger.posted.keys()) return [id];
  return undefined;
}
const get = (path: string): Call => ({ method: 'GET', path });
const post = (path: string, body?: unknown): Call => ({ method: 'POST', path, body });
const leg = (debitAccountId: string, creditAccountId: string, amount = '1') => ({
  debitAccountId,
  creditAccountId,
  amount,
  currency: CURRENCY,
});
const mine = (own: LedgerView): Set<string> => new Set(own.accounts.map((a) => a.id));

const HIDDEN: Readonly<Record<string, Hidden>> = {
  'GET /v1/accounts/:id': {
    who: 'operator',
    what: 'an account',
    theirs: wallet,
    call: ([id]) => get(`/v1/accounts/${id}`),
    expected: NOT_FOUND,
  },
  'GET /v1/accounts/:id/entries': {
    who: 'auditor',
    what: "an account's entries",
    theirs: wallet,
    call: ([id]) => get(`/v1/accounts/${id}/entries`),
    expected: NOT_FOUND,
  },
  // A leak would answer LEDGER_MISMATCH: the debit account is the caller's own.
  'POST /v1/transfers into it': {
    who: 'operator',
    what: 'a transfer into an account',
    theirs: wallet,
    call: ([id], own) => post('/v1/transfers', leg(accountOf(own, 'open'), id!)),
    expected: ACCOUNT_NOT_FOUND,
  },
  // Both accounts the other ledger's: a leak would answer INSUFFICIENT_FUNDS (a constrained wallet debited).
  'POST /v1/transfers within it': {
    who: 'operator',
    what: 'a transfer between accounts',
    theirs: (other) => [accountOf(other, 'wallet'), accountOf(other, 'cash')],
    call: ([debit, credit]) => post('/v1/transfers', leg(debit!, credit!, TOO_MUCH)),
    expected: ACCOUNT_NOT_FOUND,
  },
  'POST /v1/transfers/batch': {
    who: 'operator',
    what: 'a batch leg into an account',
    theirs: wallet,
    call: ([id], own) =>
      post('/v1/transfers/batch', {
        transfers: [leg(accountOf(own, 'open', 0), accountOf(own, 'open', 1)), leg(accountOf(own, 'open', 0), id!)],
      }),
    expected: { ...ACCOUNT_NOT_FOUND, index: 1 },
  },
  'GET /v1/transfers?accountId=': {
    who: 'operator',
    what: "an account's transfers",
    theirs: wallet,
    call: ([id]) => get(`/v1/transfers?accountId=${id}`),
    expected: { status: 200 },
  },
  'GET /v1/transfers/:id': {
    who: 'operator',
    what: 'a transfer',
    theirs: postedTransfer,
    call: ([id]) => get(`/v1/transfers/${id}`),
    expected: NOT_FOUND,
  },
  // Of a posted transfer: a leak would answer TRANSFER_NOT_PENDING.
  'POST /v1/transfers/:id/void': {
    who: 'operator',
    what: 'voiding a transfer',
    theirs: postedTransfer,
    call: ([id]) => post(`/v1/transfers/${id}/void`),
    expected: NOT_FOUND,
  },
  // More than it moved: a leak would answer REVERSAL_EXCEEDS_AMOUNT.
  'POST /v1/transfers/:id/reverse': {
    who: 'operator',
    what: 'reversing a transfer',
    theirs: postedTransfer,
    call: ([id]) => post(`/v1/transfers/${id}/reverse`, { amount: TOO_MUCH }),
    expected: NOT_FOUND,
  },
  'GET /v1/ledgers/:id': {
    who: 'operator',
    what: 'the ledger',
    theirs: itself,
    call: ([id]) => get(`/v1/ledgers/${id}`),
    expected: NOT_FOUND,
  },
  'GET /v1/ledger/entries?ledgerId=': {
    who: 'auditor',
    what: 'the journal',
    theirs: itself,
    call: ([id]) => get(`/v1/ledger/entries?ledgerId=${id}&limit=5`),
    expected: { status: 200 },
  },
  // Of an instant long past, so that the two answers' asOf agree.
  'GET /v1/audit/trial-balance?ledgerId=': {
    who: 'auditor',
    what: 'the trial balance',
    theirs: itself,
    call: ([id]) => get(`/v1/audit/trial-balance?ledgerId=${id}&asOf=2020-01-01T00:00:00.000Z`),
    expected: { status: 200 },
  },
  'GET /v1/audit/verify?ledgerId=': {
    who: 'auditor',
    what: 'verification',
    theirs: itself,
    call: ([id]) => get(`/v1/audit/verify?ledgerId=${id}`),
    expected: { status: 200 },
  },
};

const OWN_ROWS: Readonly<Record<string, OwnRows>> = {
  'GET /v1/accounts': {
    who: 'operator',
    path: '/v1/accounts?limit=500',
    check: (rows, own) => {
      const ids = new Set(rows.map((r) => r.id as string));
      const missing = own.accounts.filter((a) => !ids.has(a.id)).length;
      return rows.length !== own.accounts.length || missing > 0
        ? `${rows.length} accounts, ${missing} of the ledger's ${own.accounts.length} missing`
        : undefined;
    },
  },
  'GET /v1/transfers': {
    who: 'operator',
    path: '/v1/transfers?limit=200',
    check: (rows, own) => {
      const ids = mine(own);
      const strange = rows.find((r) => !ids.has(r.debitAccountId) || !ids.has(r.creditAccountId));
      return strange === undefined ? undefined : `transfer ${strange.id} moves money of accounts not in the ledger`;
    },
  },
  'GET /v1/ledger/entries': {
    who: 'auditor',
    path: '/v1/ledger/entries?limit=200',
    check: (rows, own) => {
      const ids = mine(own);
      const strange = rows.find((r) => !ids.has(r.accountId));
      return strange === undefined
        ? undefined
        : `entry ${strange.id} is of account ${strange.accountId}, not in the ledger`;
    },
  },
  'GET /v1/ledgers': {
    who: 'operator',
    path: '/v1/ledgers',
    check: (rows) => (rows.length === 1 ? undefined : `${rows.length} ledgers, expected its own alone`),
  },
};

export const PROBE_NAMES: readonly string[] = [...Object.keys(HIDDEN), ...Object.keys(OWN_ROWS)];

/** An answer as a caller compares it: each varying reference and the request id taken out. */
function seen(a: Answer, refs: readonly string[]): string {
  let text = a.text;
  refs.forEach((ref, i) => (text = text.split(ref).join(`<ref${i}>`)));
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  if (typeof body === 'object' && body !== null) delete (body as { requestId?: unknown }).requestId;
  return JSON.stringify({ status: a.status, body });
}

async function hidden(p: Hidden, own: LedgerView, other: LedgerView, ask: Ask): Promise<string[] | undefined> {
  const theirs = p.theirs(other);
  if (theirs === undefined) return undefined;
  const nowhere = theirs.map(() => randomUUID());
  const a = await ask(p.who, p.call(theirs, own));
  const b = await ask(p.who, p.call(nowhere, own));
  if (a === undefined || b === undefined) return undefined;
  const problems: string[] = [];
  const label = `${own.name}'s ${p.who}, ${p.what} of ${other.name}`;
  const [about, aboutNothing] = [seen(a, theirs), seen(b, nowhere)];
  if (about !== aboutNothing) {
    problems.push(`${label}: answered ${about.slice(0, 500)}; for ids that are nowhere ${aboutNothing.slice(0, 500)}`);
  }
  const got = { status: a.status, code: a.body?.code, index: a.body?.index };
  if (
    got.status !== p.expected.status ||
    (p.expected.code !== undefined && got.code !== p.expected.code) ||
    (p.expected.index !== undefined && got.index !== p.expected.index)
  ) {
    problems.push(`${label}: answered ${JSON.stringify(got)}, expected ${JSON.stringify(p.expected)}`);
  }
  return problems;
}

async function ownRows(p: OwnRows, own: LedgerView, ask: Ask): Promise<string[] | undefined> {
  const a = await ask(p.who, get(p.path));
  if (a === undefined) return undefined;
  const label = `${own.name}'s ${p.who}, GET ${p.path}`;
  if (a.status !== 200) return [`${label}: ${a.status} ${a.text.slice(0, 300)}`];
  const rows: any[] = a.body.data;
  const strangers = rows.filter((r) => (r.ledgerId ?? r.id) !== own.id);
  const problems: string[] = [];
  if (strangers.length > 0) {
    problems.push(
      `${label}: ${strangers.length} of ${rows.length} rows of other ledgers: ${JSON.stringify(strangers[0])}`,
    );
  }
  const wrong = p.check(rows, own);
  if (wrong !== undefined) problems.push(`${label}: ${wrong}`);
  return problems;
}

/**
 * Runs the probe `name` as `own`'s scoped callers, about `other`'s things: the problems found, or undefined when
 * it could not be carried out (nothing to probe yet, or no definite answer).
 */
export function probe(name: string, own: LedgerView, other: LedgerView, ask: Ask): Promise<string[] | undefined> {
  const h = HIDDEN[name];
  return h !== undefined ? hidden(h, own, other, ask) : ownRows(OWN_ROWS[name]!, own, ask);
}
