import { connect } from './database.js';

/**
 * SPEC section 1, checked straight in SQL against the service's database: conservation per currency,
 * counters equal to the sum of entries, gap-free versions, every hash chain recomputed, every transfer
 * balanced. Returns the violations (empty when the ledger is sound).
 */
export async function ledgerViolations(databaseUrl: string): Promise<string[]> {
  const db = await connect(databaseUrl);
  try {
    const problems: string[] = [];
    const conservation = await db.query(`
      SELECT currency, sum(debits_posted) dp, sum(credits_posted) cp, sum(debits_pending) dq, sum(credits_pending) cq
      FROM accounts GROUP BY currency HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)`);
    for (const r of conservation.rows) problems.push(`currency ${r.currency} does not balance: ${JSON.stringify(r)}`);
    const counters = await db.query(`
      SELECT a.id, a.debits_posted, a.credits_posted, a.version, e.d, e.c, e.n, e.maxv
      FROM accounts a LEFT JOIN (
        SELECT account_id, sum(amount) FILTER (WHERE direction = 'debit') d, sum(amount) FILTER (WHERE direction = 'credit') c,
               count(*) n, max(account_version) maxv
        FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
      WHERE a.debits_posted <> coalesce(e.d, 0) OR a.credits_posted <> coalesce(e.c, 0)
         OR a.version <> coalesce(e.n, 0) OR a.version <> coalesce(e.maxv, 0)`);
    for (const r of counters.rows)
      problems.push(`account ${r.id} counters disagree with its entries: ${JSON.stringify(r)}`);
    const negative = await db.query(`
      SELECT id FROM accounts WHERE NOT allow_negative AND (CASE WHEN normal_balance = 'credit'
        THEN credits_posted - debits_posted - debits_pending ELSE debits_posted - credits_posted - credits_pending END) < 0`);
    for (const r of negative.rows) problems.push(`constrained account ${r.id} is below zero`);
    const chains = await db.query(`
      SELECT account_id, account_version, hash = encode(sha256(convert_to(prev_hash || E'\\n' || concat_ws('|', account_id,
               account_version, transfer_id, direction, amount, currency, balance_after,
               to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), 'UTF8')), 'hex') AS hash_ok,
             prev_hash = coalesce(lag(hash) OVER w, repeat('0', 64)) AS link_ok,
             account_version = row_number() OVER w AS version_ok
      FROM ledger_entries WINDOW w AS (PARTITION BY account_id ORDER BY account_version)`);
    for (const r of chains.rows) {
      if (!r.hash_ok || !r.link_ok || !r.version_ok)
        problems.push(`chain broken at ${r.account_id} v${r.account_version}`);
    }
    const transfers = await db.query(`
      SELECT DISTINCT transfer_id FROM ledger_entries GROUP BY transfer_id, currency
      HAVING sum(amount) FILTER (WHERE direction = 'debit') IS DISTINCT FROM sum(amount) FILTER (WHERE direction = 'credit')`);
    for (const r of transfers.rows) problems.push(`transfer ${r.transfer_id} entries do not balance`);
    const posted = await db.query(`
      SELECT t.id FROM transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id
      GROUP BY t.id, t.posted_amount HAVING coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0) <> t.posted_amount`);
    for (const r of posted.rows) problems.push(`transfer ${r.id} entries differ from its posted amount`);
    // A posted transaction has one entry per posting, in posting order; any other status, none (SPEC 11).
    const transactions = await db.query(`
      SELECT t.id FROM transactions t
      WHERE (SELECT coalesce(jsonb_agg(jsonb_build_object('accountId', e.account_id, 'direction', e.direction,
               'amount', e.amount::text, 'currency', e.currency) ORDER BY e.seq), '[]')
             FROM ledger_entries e WHERE e.transfer_id = t.id)
         <> CASE WHEN t.status = 'posted' THEN (SELECT jsonb_agg(jsonb_build_object('accountId', p ->> 'accountId',
               'direction', p ->> 'direction', 'amount', p ->> 'amount', 'currency', p ->> 'currency') ORDER BY i)
             FROM jsonb_array_elements(t.postings) WITH ORDINALITY AS x(p, i)) ELSE '[]' END`);
    for (const r of transactions.rows) problems.push(`transaction ${r.id} entries differ from its postings`);
    return problems;
  } finally {
    await db.end();
  }
}

export async function rowCounts(databaseUrl: string): Promise<Record<string, number>> {
  const db = await connect(databaseUrl);
  try {
    const { rows } = await db.query(`SELECT (SELECT count(*) FROM transfers)::int AS transfers,
      (SELECT count(*) FROM transactions)::int AS transactions,
      (SELECT count(*) FROM ledger_entries)::int AS entries, (SELECT count(*) FROM accounts)::int AS accounts,
      (SELECT coalesce(sum(debits_posted + credits_posted + debits_pending + credits_pending), 0)::text FROM accounts) AS volume`);
    return rows[0];
  } finally {
    await db.end();
  }
}
