import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { checkout, poolOf } from '../database/pooled-client.js';
import type { DataSource } from 'typeorm';
import { ACCOUNT_TYPES } from '../core/account-types.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { logProblems } from '../admin-log/admin-log.service.js';
import { CheckpointSigner } from '../checkpoints/checkpoint-signer.js';
import { treeProblems } from '../checkpoints/tree-checks.js';
import { countersAt } from '../entries/entry-rows.js';
import { inScope, ledgerByRef } from '../ledgers/ledger-rows.js';
import type { CurrencyTotals, ProblemCode, TrialBalanceView, VerifyProblem, VerifyView } from './audit.dto.js';

const MAX_PROBLEMS = 100;
const TYPE_ORDER = [...ACCOUNT_TYPES, 'unclassified'];

/** A problem and its place among its own subject's (an account, a currency, a transfer): 1 for the first. */
interface Ranked {
  rank: number;
  problem: VerifyProblem;
}

// The hash of SPEC section 6, recomputed by PostgreSQL: every field as the API writes it, and a backdated entry's
// effective date (SPEC 12; concat_ws skips it when null).
const RECOMPUTED_HASH = `encode(sha256(convert_to(prev_hash || E'\\n' || concat_ws('|', account_id, account_version,
  transfer_id, direction, amount, currency, balance_after,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), 'UTF8')), 'hex')`;

@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly signer: CheckpointSigner,
  ) {}

  /** Per ledger and currency, the posted debits and credits of its accounts as they stood at `asOf`. */
  async trialBalance(asOf: Date, ledgerRef: string | undefined, scope: LedgerScope): Promise<TrialBalanceView> {
    const rows = await this.db.query<
      { ledger_id: string; currency: string; type: string; debits: string; credits: string; accounts: number }[]
    >(
      `SELECT a.ledger_id, a.currency, coalesce(a.type, 'unclassified') AS type,
              coalesce(sum(e.debits), 0)::text AS debits, coalesce(sum(e.credits), 0)::text AS credits,
              count(*)::int AS accounts
       FROM accounts a
       LEFT JOIN LATERAL (${countersAt('a.id', '$1')}) e ON true
       -- An account counts once it exists, or before if an entry dated then counts on it (SPEC 12).
       WHERE (a.created_at <= $1 OR e.version > 0) AND ($2::text IS NULL OR a.ledger_id = (${ledgerByRef(2)}))
         AND ${inScope('a.ledger_id', 3)}
       GROUP BY a.ledger_id, a.currency, coalesce(a.type, 'unclassified')
       ORDER BY a.ledger_id, a.currency, array_position($4::text[], coalesce(a.type, 'unclassified'))`,
      [asOf, ledgerRef ?? null, scope.ids, TYPE_ORDER],
    );
    // One row per ledger and currency, its accounts' totals also split by type (SPEC 12).
    const currencies: CurrencyTotals[] = [];
    for (const r of rows) {
      let total = currencies[currencies.length - 1];
      if (total === undefined || total.ledgerId !== r.ledger_id || total.currency !== r.currency) {
        total = {
          ledgerId: r.ledger_id,
          currency: r.currency,
          totalDebits: '0',
          totalCredits: '0',
          balanced: true,
          accountCount: 0,
          byType: [],
        };
        currencies.push(total);
      }
      total.totalDebits = String(BigInt(total.totalDebits) + BigInt(r.debits));
      total.totalCredits = String(BigInt(total.totalCredits) + BigInt(r.credits));
      total.balanced = total.totalDebits === total.totalCredits;
      total.accountCount += r.accounts;
      total.byType.push({ type: r.type, totalDebits: r.debits, totalCredits: r.credits, accountCount: r.accounts });
    }
    return { asOf: asOf.toISOString(), currencies };
  }

  /**
   * Recomputes the books from the journal in one REPEATABLE READ READ ONLY snapshot: plain MVCC reads, so
   * writers are never blocked, and each check is one sequential pass (linear in the journal's size). It covers
   * the ledger named (an unknown or unseen one: nothing), else every ledger the caller sees.
   */
  async verify(ledgerRef: string | undefined, scope: LedgerScope): Promise<VerifyView> {
    const { client, release } = await checkout(poolOf(this.db));
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET LOCAL statement_timeout = '10min'`);
      const ledgers = await ledgersToVerify(client, ledgerRef, scope);
      // The log's chain is whole for an unlimited caller who names no ledger; otherwise only its ledgers' records.
      const log = await logProblems(client, ledgers, ledgers === null);
      // Tampering in one account must not hide another's (SPEC section 14): every affected account's first problem
      // is listed before any account's second, its second before any third, and so on. Currencies and transfers
      // are subjects too, ranked the same way and listed after the accounts of the same rank (currencies first:
      // a handful of rows that sum up the ledger), so a flood of problems in a few accounts cannot starve them.
      // With 100 accounts affected the accounts alone fill the list, as the SPEC's "up to 100 accounts" asks.
      // Each check hands over only its own first MAX_PROBLEMS by rank, so merging those is exact; the sort is
      // stable, keeping accounts, currencies, transfers in that order within a rank and each in its own order.
      const ranked = [
        ...(await accountProblems(client, ledgers)),
        ...(await currencyProblems(client, ledgers)),
        ...(await transferProblems(client, ledgers)),
        ...(await transactionProblems(client, ledgers)),
        ...(await treeProblems(client, ledgers, this.signer)),
        ...log.problems.map((problem, i) => ({ rank: i + 1, problem })),
      ].sort((a, b) => a.rank - b.rank);
      const problems = ranked.slice(0, MAX_PROBLEMS).map((r) => r.problem);
      const [counts] = (
        await client.query<{ accounts: number; entries: number; transfers: number; transactions: number }>(
          `SELECT (SELECT count(*) FROM accounts WHERE ${inScope('ledger_id', 1)})::int AS accounts,
                  (SELECT count(*) FROM ledger_entries WHERE ${inScope('ledger_id', 1)})::int AS entries,
                  (SELECT count(*) FROM transfers WHERE ${inScope('ledger_id', 1)})::int AS transfers,
                  (SELECT count(*) FROM transactions WHERE ${inScope('ledger_id', 1)})::int AS transactions`,
          [ledgers],
        )
      ).rows;
      await client.query('COMMIT');
      return {
        ok: problems.length === 0,
        checkedAccounts: counts!.accounts,
        checkedEntries: counts!.entries,
        checkedTransfers: counts!.transfers,
        checkedTransactions: counts!.transactions,
        checkedLogRecords: log.checked,
        problems,
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      release();
    }
  }
}

/**
 * The chain and counter checks, one pass each, with every problem ranked among its own account's: the first
 * out-of-place version and the first wrong running counter of an account are named (every later entry inherits
 * them), each entry whose hash or link is wrong, then the account's stored counters. Within an entry, a hole or
 * an altered entry comes before the balances that follow from it. Only the first `MAX_PROBLEMS` by rank, then
 * account, leave PostgreSQL, however many entries are wrong.
 */
async function accountProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<Ranked[]> {
  const { rows } = await c.query<{
    account_id: string;
    code: ProblemCode;
    version: string | null;
    detail: string;
    rank: string;
  }>(
    `WITH entries AS (
       SELECT account_id, account_version AS v, row_number() OVER w AS expected_v,
              hash = ${RECOMPUTED_HASH} AS hash_ok,
              prev_hash = coalesce(lag(hash) OVER w, repeat('0', 64)) AS link_ok,
              debits_after = coalesce(sum(amount) FILTER (WHERE direction = 'debit') OVER w, 0)
                AND credits_after = coalesce(sum(amount) FILTER (WHERE direction = 'credit') OVER w, 0) AS running_ok
       FROM ledger_entries WHERE ${inScope('ledger_id', 1)}
       -- An account's entries are all in its ledger: partitioned by both, the pass reads them in the order of the
       -- key (ledger_id, account_id, account_version), whole books or only the ledgers verified, with no sort.
       WINDOW w AS (PARTITION BY ledger_id, account_id ORDER BY account_version)
     ), bad_entries AS (
       SELECT *, count(*) FILTER (WHERE v <> expected_v) OVER u AS gaps, count(*) FILTER (WHERE NOT running_ok) OVER u AS runs
       FROM entries WHERE NOT hash_ok OR NOT link_ok OR NOT running_ok OR v <> expected_v
       WINDOW u AS (PARTITION BY account_id ORDER BY v ROWS UNBOUNDED PRECEDING)
     ), problems AS (
       SELECT e.account_id, 1 AS step, e.v AS at, p.kind, p.code, p.version, p.detail
       FROM bad_entries e CROSS JOIN LATERAL (VALUES
         (1, 'VERSION_GAP', e.expected_v, format('expected version %s, found %s', e.expected_v, e.v),
          e.v <> e.expected_v AND e.gaps = 1),
         (2, 'HASH_MISMATCH', e.v, 'stored hash differs from the recomputed one', NOT e.hash_ok),
         (2, 'HASH_MISMATCH', e.v, 'prevHash is not the previous entry''s hash', e.hash_ok AND NOT e.link_ok),
         (3, 'BALANCE_MISMATCH', e.v, 'the running counters stored on the entry differ from the sum of the entries up to it',
          NOT e.running_ok AND e.runs = 1)
       ) AS p(kind, code, version, detail, listed)
       WHERE p.listed
       UNION ALL
       SELECT a.id, 2, 0, p.kind, p.code, p.version, p.detail
       FROM accounts a LEFT JOIN (
         SELECT account_id, sum(amount) FILTER (WHERE direction = 'debit') AS d, sum(amount) FILTER (WHERE direction = 'credit') AS c,
                count(*) AS n, max(account_version) AS maxv
         FROM ledger_entries WHERE ${inScope('ledger_id', 1)} GROUP BY account_id) e ON e.account_id = a.id
       CROSS JOIN LATERAL (VALUES
         (1, 'BALANCE_MISMATCH', NULL::bigint,
          format('stored debits %s / credits %s, entries sum to %s / %s', a.debits_posted, a.credits_posted,
                 coalesce(e.d, 0), coalesce(e.c, 0)),
          a.debits_posted <> coalesce(e.d, 0) OR a.credits_posted <> coalesce(e.c, 0)),
         (2, 'VERSION_GAP', a.version,
          format('stored version %s, %s entries up to version %s', a.version, coalesce(e.n, 0), coalesce(e.maxv, 0)),
          a.version <> coalesce(e.maxv, 0) OR a.version <> coalesce(e.n, 0))
       ) AS p(kind, code, version, detail, listed)
       WHERE p.listed AND ${inScope('a.ledger_id', 1)}
       UNION ALL
       -- The backdated day totals that balances by effective date read (SPEC 12), against the entries' own sums.
       SELECT a.id, 2, 0, 3, 'BALANCE_MISMATCH', NULL::bigint,
         format('backdated totals by %s day %s: stored %s / %s in %s entries, the entries sum to %s / %s in %s',
                x.axis, x.day, coalesce(x.debits, 0), coalesce(x.credits, 0), coalesce(x.entries, 0),
                coalesce(x.d, 0), coalesce(x.c, 0), coalesce(x.n, 0))
       FROM (
         SELECT e.account_id, v.axis, v.day, sum(e.amount) FILTER (WHERE e.direction = 'debit') AS d,
                sum(e.amount) FILTER (WHERE e.direction = 'credit') AS c, count(*) AS n
         FROM ledger_entries e CROSS JOIN LATERAL (VALUES
           ('effective', (e.effective_at AT TIME ZONE 'UTC')::date),
           ('recorded', (e.created_at AT TIME ZONE 'UTC')::date)) AS v(axis, day)
         WHERE e.effective_at IS NOT NULL AND ${inScope('e.ledger_id', 1)}
         GROUP BY 1, 2, 3) r
       FULL JOIN backdated_totals t USING (account_id, axis, day)
       CROSS JOIN LATERAL (SELECT account_id, axis, day, t.debits, t.credits, t.entries, r.d, r.c, r.n) x
       JOIN accounts a ON a.id = x.account_id
       WHERE ${inScope('a.ledger_id', 1)} AND (coalesce(x.debits, 0), coalesce(x.credits, 0), coalesce(x.entries, 0))
         IS DISTINCT FROM (coalesce(x.d, 0), coalesce(x.c, 0), coalesce(x.n, 0))
     )
     SELECT account_id, code, version, detail, rank FROM (
       SELECT *, row_number() OVER (PARTITION BY account_id ORDER BY step, at, kind) AS rank FROM problems) ranked
     ORDER BY rank, account_id LIMIT ${MAX_PROBLEMS}`,
    [ledgers],
  );
  return rows.map((r) => ({
    rank: Number(r.rank),
    problem: {
      code: r.code,
      accountId: r.account_id,
      ...(r.version === null ? {} : { accountVersion: Number(r.version) }),
      detail: r.detail,
    },
  }));
}

/** Each unbalanced transfer is a subject of its own with one problem: rank 1. */
async function transferProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<Ranked[]> {
  const { rows } = await c.query<{ id: string; posted: string; d: string; cr: string }>(
    `SELECT t.id, t.posted_amount AS posted, coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) AS d,
            coalesce(sum(e.amount) FILTER (WHERE e.direction = 'credit'), 0) AS cr
     FROM transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id
     WHERE ${inScope('t.ledger_id', 1)}
     GROUP BY t.id, t.posted_amount
     HAVING coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) <> coalesce(sum(e.amount) FILTER (WHERE e.direction = 'credit'), 0)
         OR coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) <> t.posted_amount
     ORDER BY t.id LIMIT ${MAX_PROBLEMS}`,
    [ledgers],
  );
  return rows.map((r) => ({
    rank: 1,
    problem: {
      code: 'UNBALANCED_TRANSFER',
      transferId: r.id,
      detail: `entries debit ${r.d} and credit ${r.cr}; posted amount ${r.posted}`,
    },
  }));
}

/**
 * Each transaction whose entries are not its postings — one per posting, in posting order, when it is posted; none
 * otherwise (SPEC 11) — is a subject of its own with one problem: rank 1. One pass over the transactions' entries.
 */
async function transactionProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<Ranked[]> {
  const { rows } = await c.query<{ id: string; entries: number; postings: number }>(
    `WITH written AS (
       SELECT transfer_id, jsonb_agg(jsonb_build_array(account_id, direction, amount::text, currency) ORDER BY seq) AS legs
       FROM ledger_entries
       WHERE transfer_id IN (SELECT id FROM transactions WHERE ${inScope('ledger_id', 1)})
       GROUP BY transfer_id)
     SELECT t.id, coalesce(jsonb_array_length(w.legs), 0) AS entries, jsonb_array_length(t.postings) AS postings
     FROM transactions t LEFT JOIN written w ON w.transfer_id = t.id
     WHERE ${inScope('t.ledger_id', 1)}
       AND coalesce(w.legs, '[]') IS DISTINCT FROM CASE WHEN t.status = 'posted' THEN
         (SELECT jsonb_agg(jsonb_build_array((p ->> 'accountId')::uuid, p ->> 'direction', p ->> 'amount', p ->> 'currency')
                 ORDER BY i)
          FROM jsonb_array_elements(t.postings) WITH ORDINALITY AS x(p, i)) ELSE '[]' END
     ORDER BY t.id LIMIT ${MAX_PROBLEMS}`,
    [ledgers],
  );
  return rows.map((r) => ({
    rank: 1,
    problem: {
      code: 'UNBALANCED_TRANSACTION',
      transactionId: r.id,
      detail: `${r.entries} entries do not match its ${r.postings} postings`,
    },
  }));
}

/**
 * Up to three problems per currency of a ledger (posted and pending counters, entries), ranked within it: money
 * is conserved in each ledger on its own, as none moves between ledgers.
 */
async function currencyProblems(c: PoolClient, ledgers: readonly string[] | null): Promise<Ranked[]> {
  const { rows } = await c.query<{
    ledger_id: string;
    currency: string;
    source: string;
    d: string;
    cr: string;
    rank: string;
  }>(
    `SELECT *, row_number() OVER (PARTITION BY ledger_id, currency ORDER BY source) AS rank FROM (
       SELECT ledger_id, currency, 'accounts (posted)' AS source, sum(debits_posted) AS d, sum(credits_posted) AS cr
         FROM accounts WHERE ${inScope('ledger_id', 1)}
         GROUP BY ledger_id, currency HAVING sum(debits_posted) <> sum(credits_posted)
       UNION ALL
       SELECT ledger_id, currency, 'accounts (pending)', sum(debits_pending), sum(credits_pending)
         FROM accounts WHERE ${inScope('ledger_id', 1)}
         GROUP BY ledger_id, currency HAVING sum(debits_pending) <> sum(credits_pending)
       UNION ALL
       SELECT ledger_id, currency, 'entries', sum(amount) FILTER (WHERE direction = 'debit'),
              sum(amount) FILTER (WHERE direction = 'credit')
         FROM ledger_entries WHERE ${inScope('ledger_id', 1)} GROUP BY ledger_id, currency
         HAVING sum(amount) FILTER (WHERE direction = 'debit') IS DISTINCT FROM sum(amount) FILTER (WHERE direction = 'credit')
     ) unbalanced
     ORDER BY rank, ledger_id, currency, source LIMIT ${MAX_PROBLEMS}`,
    [ledgers],
  );
  return rows.map((r) => ({
    rank: Number(r.rank),
    problem: {
      code: 'UNBALANCED_CURRENCY',
      ledgerId: r.ledger_id,
      detail: `${r.currency}: ${r.source} debits ${r.d ?? 0} ≠ credits ${r.cr ?? 0}`,
    },
  }));
}

/** The ids of the ledgers a verification covers: the one named if the caller sees it, else all the caller sees. */
async function ledgersToVerify(
  c: PoolClient,
  ledgerRef: string | undefined,
  scope: LedgerScope,
): Promise<readonly string[] | null> {
  if (ledgerRef === undefined) return scope.ids;
  const { rows } = await c.query<{ id: string }>(ledgerByRef(1), [ledgerRef]);
  return rows.filter((r) => scope.sees(r.id)).map((r) => r.id);
}
