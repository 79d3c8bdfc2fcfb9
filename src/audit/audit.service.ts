import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { checkout, poolOf } from '../database/pooled-client.js';
import type { DataSource } from 'typeorm';
import type { CurrencyTotals, TrialBalanceView, VerifyProblem, VerifyView } from './audit.dto.js';

const MAX_PROBLEMS = 100;

// The hash of SPEC section 6, recomputed by PostgreSQL: every field as the API writes it.
const RECOMPUTED_HASH = `encode(sha256(convert_to(prev_hash || E'\\n' || concat_ws('|', account_id, account_version,
  transfer_id, direction, amount, currency, balance_after,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), 'UTF8')), 'hex')`;

@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Per currency, the posted debits and credits of all accounts as they stood at `asOf`. */
  async trialBalance(asOf: Date): Promise<TrialBalanceView> {
    const rows = await this.db.query<{ currency: string; debits: string; credits: string; accounts: number }[]>(
      `SELECT a.currency, coalesce(sum(e.debits_after), 0)::text AS debits, coalesce(sum(e.credits_after), 0)::text AS credits,
              count(*)::int AS accounts
       FROM accounts a
       LEFT JOIN LATERAL (
         SELECT debits_after, credits_after FROM ledger_entries
         WHERE account_id = a.id AND created_at <= $1 ORDER BY created_at DESC, account_version DESC LIMIT 1
       ) e ON true
       WHERE a.created_at <= $1
       GROUP BY a.currency ORDER BY a.currency`,
      [asOf],
    );
    const currencies: CurrencyTotals[] = rows.map((r) => ({
      currency: r.currency,
      totalDebits: r.debits,
      totalCredits: r.credits,
      balanced: r.debits === r.credits,
      accountCount: r.accounts,
    }));
    return { asOf: asOf.toISOString(), currencies };
  }

  /**
   * Recomputes the whole ledger from the journal in one REPEATABLE READ READ ONLY snapshot: plain MVCC reads,
   * so writers are never blocked, and each check is one sequential pass (linear in the journal's size).
   */
  async verify(): Promise<VerifyView> {
    const { client, release } = await checkout(poolOf(this.db));
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET LOCAL statement_timeout = '10min'`);
      const problems: VerifyProblem[] = [];
      const add = (p: VerifyProblem[]): void => void problems.push(...p.slice(0, MAX_PROBLEMS - problems.length));
      add(await chainProblems(client));
      add(await counterProblems(client));
      add(await transferProblems(client));
      add(await currencyProblems(client));
      const [counts] = (
        await client.query<{ accounts: number; entries: number; transfers: number }>(
          `SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM ledger_entries)::int AS entries,
                  (SELECT count(*) FROM transfers)::int AS transfers`,
        )
      ).rows;
      await client.query('COMMIT');
      return {
        ok: problems.length === 0,
        checkedAccounts: counts!.accounts,
        checkedEntries: counts!.entries,
        checkedTransfers: counts!.transfers,
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

async function chainProblems(c: PoolClient): Promise<VerifyProblem[]> {
  const { rows } = await c.query<{
    account_id: string;
    v: string;
    expected_v: string;
    hash_ok: boolean;
    link_ok: boolean;
    running_ok: boolean;
  }>(
    `SELECT account_id, account_version AS v, expected_v, hash_ok, link_ok, running_ok FROM (
       SELECT account_id, account_version, row_number() OVER w AS expected_v,
              hash = ${RECOMPUTED_HASH} AS hash_ok,
              prev_hash = coalesce(lag(hash) OVER w, repeat('0', 64)) AS link_ok,
              debits_after = coalesce(sum(amount) FILTER (WHERE direction = 'debit') OVER w, 0)
                AND credits_after = coalesce(sum(amount) FILTER (WHERE direction = 'credit') OVER w, 0) AS running_ok
       FROM ledger_entries WINDOW w AS (PARTITION BY account_id ORDER BY account_version)) x
     WHERE NOT hash_ok OR NOT link_ok OR NOT running_ok OR account_version <> expected_v
     ORDER BY account_id, account_version LIMIT ${MAX_PROBLEMS}`,
  );
  const out: VerifyProblem[] = [];
  const gapReported = new Set<string>();
  const runningReported = new Set<string>();
  for (const r of rows) {
    const version = Number(r.v);
    if (r.v !== r.expected_v && !gapReported.has(r.account_id)) {
      // The first version out of place names where the chain has a hole (or a duplicate).
      gapReported.add(r.account_id);
      out.push({
        code: 'VERSION_GAP',
        accountId: r.account_id,
        accountVersion: Number(r.expected_v),
        detail: `expected version ${r.expected_v}, found ${r.v}`,
      });
    }
    if (!r.running_ok && !runningReported.has(r.account_id)) {
      runningReported.add(r.account_id);
      out.push({
        code: 'BALANCE_MISMATCH',
        accountId: r.account_id,
        accountVersion: version,
        detail: 'the running counters stored on the entry differ from the sum of the entries up to it',
      });
    }
    if (!r.hash_ok) {
      out.push({
        code: 'HASH_MISMATCH',
        accountId: r.account_id,
        accountVersion: version,
        detail: 'stored hash differs from the recomputed one',
      });
    } else if (!r.link_ok) {
      out.push({
        code: 'HASH_MISMATCH',
        accountId: r.account_id,
        accountVersion: version,
        detail: "prevHash is not the previous entry's hash",
      });
    }
  }
  return out;
}

async function counterProblems(c: PoolClient): Promise<VerifyProblem[]> {
  const { rows } = await c.query<Record<string, string>>(
    `SELECT a.id, a.debits_posted, a.credits_posted, a.version, coalesce(e.d, 0) AS d, coalesce(e.c, 0) AS c,
            coalesce(e.n, 0) AS n, coalesce(e.maxv, 0) AS maxv
     FROM accounts a LEFT JOIN (
       SELECT account_id, sum(amount) FILTER (WHERE direction = 'debit') AS d, sum(amount) FILTER (WHERE direction = 'credit') AS c,
              count(*) AS n, max(account_version) AS maxv
       FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
     WHERE a.debits_posted <> coalesce(e.d, 0) OR a.credits_posted <> coalesce(e.c, 0)
        OR a.version <> coalesce(e.maxv, 0) OR a.version <> coalesce(e.n, 0)
     ORDER BY a.id LIMIT ${MAX_PROBLEMS}`,
  );
  return rows.flatMap((r): VerifyProblem[] => {
    const out: VerifyProblem[] = [];
    if (r.debits_posted !== r.d || r.credits_posted !== r.c) {
      out.push({
        code: 'BALANCE_MISMATCH',
        accountId: r.id,
        detail: `stored debits ${r.debits_posted} / credits ${r.credits_posted}, entries sum to ${r.d} / ${r.c}`,
      });
    }
    if (r.version !== r.maxv || r.version !== r.n) {
      out.push({
        code: 'VERSION_GAP',
        accountId: r.id,
        accountVersion: Number(r.version),
        detail: `stored version ${r.version}, ${r.n} entries up to version ${r.maxv}`,
      });
    }
    return out;
  });
}

async function transferProblems(c: PoolClient): Promise<VerifyProblem[]> {
  const { rows } = await c.query<{ id: string; posted: string; d: string; cr: string }>(
    `SELECT t.id, t.posted_amount AS posted, coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) AS d,
            coalesce(sum(e.amount) FILTER (WHERE e.direction = 'credit'), 0) AS cr
     FROM transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id
     GROUP BY t.id, t.posted_amount
     HAVING coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) <> coalesce(sum(e.amount) FILTER (WHERE e.direction = 'credit'), 0)
         OR coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) <> t.posted_amount
     ORDER BY t.id LIMIT ${MAX_PROBLEMS}`,
  );
  return rows.map((r) => ({
    code: 'UNBALANCED_TRANSFER' as const,
    transferId: r.id,
    detail: `entries debit ${r.d} and credit ${r.cr}; posted amount ${r.posted}`,
  }));
}

async function currencyProblems(c: PoolClient): Promise<VerifyProblem[]> {
  const { rows } = await c.query<{ currency: string; source: string; d: string; cr: string }>(
    `SELECT currency, 'accounts (posted)' AS source, sum(debits_posted) AS d, sum(credits_posted) AS cr FROM accounts
       GROUP BY currency HAVING sum(debits_posted) <> sum(credits_posted)
     UNION ALL
     SELECT currency, 'accounts (pending)', sum(debits_pending), sum(credits_pending) FROM accounts
       GROUP BY currency HAVING sum(debits_pending) <> sum(credits_pending)
     UNION ALL
     SELECT currency, 'entries', sum(amount) FILTER (WHERE direction = 'debit'), sum(amount) FILTER (WHERE direction = 'credit')
       FROM ledger_entries GROUP BY currency
       HAVING sum(amount) FILTER (WHERE direction = 'debit') IS DISTINCT FROM sum(amount) FILTER (WHERE direction = 'credit')
     ORDER BY 1, 2`,
  );
  return rows.map((r) => ({
    code: 'UNBALANCED_CURRENCY' as const,
    detail: `${r.currency}: ${r.source} debits ${r.d ?? 0} ≠ credits ${r.cr ?? 0}`,
  }));
}
