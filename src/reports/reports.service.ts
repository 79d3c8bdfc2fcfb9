import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { type AccountType, normalBalanceOf } from '../core/account-types.js';
import type { Side } from '../core/balances.js';
import type { LedgerScope } from '../core/ledger-scope.js';
import { ValidationFailed } from '../http/problem.js';
import { countersAt, justBefore } from '../entries/entry-rows.js';
import { seenLedgerId } from '../ledgers/ledger-rows.js';
import type {
  BalanceSheetQuery,
  BalanceSheetView,
  IncomeStatementQuery,
  IncomeStatementView,
  ReportCategory,
  ReportSection,
} from './reports.dto.js';

interface AccountFigures {
  id: string;
  name: string | null;
  type: AccountType | 'unclassified';
  normal: Side;
  /** Posted debits and credits that moved within the report's period. */
  debits: bigint;
  credits: bigint;
}

interface Chart {
  categories: { id: string; name: string; parent_id: string | null }[];
  /** category id → its own member accounts */
  members: Map<string, string[]>;
  /** accounts in at least one category */
  categorised: Set<string>;
}

/**
 * The balance sheet and the income statement (SPEC 12), each figure re-derivable from the entries: an account's
 * figure is its posted counters at the end of the period less those at its start, read from the running counters of
 * its last entry before each instant. Dates are when entries were recorded until effective dates exist.
 */
@Injectable()
export class ReportsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private readonly query = (text: string, values: unknown[]) => this.db.query<{ id: string }[]>(text, values);

  async balanceSheet(q: BalanceSheetQuery, scope: LedgerScope): Promise<BalanceSheetView> {
    const ledgerId = await seenLedgerId(this.query, q.ledgerId, scope);
    const currency = await this.currencyOf(ledgerId, q.currency);
    const asOf = q.asOf === undefined ? new Date() : new Date(q.asOf);
    // asOf is inclusive and instants have milliseconds: everything before the next millisecond.
    const accounts = await this.figures(ledgerId, currency, null, new Date(asOf.getTime() + 1));
    const chart = await this.chart(ledgerId);
    const [assets, liabilities, equity, revenue, expense] = (
      ['asset', 'liability', 'equity', 'revenue', 'expense'] as const
    ).map((type) => section(accounts, chart, type, normalBalanceOf(type)));
    const retained = BigInt(revenue!.total) - BigInt(expense!.total);
    return {
      ledgerId,
      asOf: asOf.toISOString(),
      currency,
      assets: assets!,
      liabilities: liabilities!,
      equity: equity!,
      retainedEarnings: String(retained),
      balanced: BigInt(assets!.total) === BigInt(liabilities!.total) + BigInt(equity!.total) + retained,
      unclassified: section(accounts, chart, 'unclassified', null),
    };
  }

  async incomeStatement(q: IncomeStatementQuery, scope: LedgerScope): Promise<IncomeStatementView> {
    const ledgerId = await seenLedgerId(this.query, q.ledgerId, scope);
    const currency = await this.currencyOf(ledgerId, q.currency);
    const from = q.from === undefined ? null : new Date(q.from);
    const to = q.to === undefined ? new Date() : new Date(q.to);
    if (from !== null && from > to)
      throw new ValidationFailed([{ field: 'from', message: 'from must not be after to' }]);
    const accounts = await this.figures(ledgerId, currency, from, to);
    const chart = await this.chart(ledgerId);
    const revenue = section(accounts, chart, 'revenue', 'credit');
    const expense = section(accounts, chart, 'expense', 'debit');
    return {
      ledgerId,
      from: from?.toISOString() ?? null,
      to: to.toISOString(),
      currency,
      revenue,
      expense,
      netIncome: String(BigInt(revenue.total) - BigInt(expense.total)),
    };
  }

  /** Each account of the ledger in the currency, with what it posted in [from, to): its counters at each end. */
  private async figures(ledgerId: string, currency: string, from: Date | null, to: Date): Promise<AccountFigures[]> {
    const rows = await this.db.query<
      {
        id: string;
        name: string | null;
        type: string;
        normal_balance: Side;
        d1: string;
        c1: string;
        d0: string;
        c0: string;
      }[]
    >(
      `SELECT a.id, a.name, coalesce(a.type, 'unclassified') AS type, a.normal_balance,
              coalesce(hi.debits, 0) AS d1, coalesce(hi.credits, 0) AS c1,
              coalesce(lo.debits, 0) AS d0, coalesce(lo.credits, 0) AS c0
       FROM accounts a
       LEFT JOIN LATERAL (${countersAt('a.id', justBefore('$3'))}) hi ON true
       LEFT JOIN LATERAL (${countersAt('a.id', justBefore('$4'))}) lo ON true
       WHERE a.ledger_id = $1 AND a.currency = $2 ORDER BY a.seq`,
      // From the beginning: nothing counts before -infinity.
      [ledgerId, currency, to, from ?? '-infinity'],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      type: r.type as AccountFigures['type'],
      normal: r.normal_balance,
      debits: BigInt(r.d1) - BigInt(r.d0),
      credits: BigInt(r.c1) - BigInt(r.c0),
    }));
  }

  private async chart(ledgerId: string): Promise<Chart> {
    const categories = await this.db.query<Chart['categories']>(
      `SELECT id, name, parent_id FROM categories WHERE ledger_id = $1 ORDER BY seq`,
      [ledgerId],
    );
    const rows = await this.db.query<{ category_id: string; account_id: string }[]>(
      `SELECT m.category_id, m.account_id FROM category_accounts m JOIN categories c ON c.id = m.category_id
       WHERE c.ledger_id = $1 ORDER BY m.account_id`,
      [ledgerId],
    );
    const members = new Map<string, string[]>();
    for (const r of rows) members.set(r.category_id, [...(members.get(r.category_id) ?? []), r.account_id]);
    return { categories, members, categorised: new Set(rows.map((r) => r.account_id)) };
  }

  private async currencyOf(ledgerId: string, asked: string | undefined): Promise<string> {
    if (asked !== undefined) return asked;
    const rows = await this.db.query<{ currency: string }[]>(
      `SELECT DISTINCT currency FROM accounts WHERE ledger_id = $1 ORDER BY currency LIMIT 2`,
      [ledgerId],
    );
    if (rows.length !== 1) {
      throw new ValidationFailed([
        { field: 'currency', message: 'currency is required: the ledger has several currencies, or no account yet' },
      ]);
    }
    return rows[0]!.currency;
  }
}

/**
 * The accounts of one type, on `side` (null: each on its own normal side), grouped by the categories that hold
 * them: a category's total counts each of its and its descendants' accounts once, and only categories holding
 * some account of the type appear. Accounts of the type in no category are listed on their own.
 */
function section(
  accounts: AccountFigures[],
  chart: Chart,
  type: AccountFigures['type'],
  side: Side | null,
): ReportSection {
  const balance = (a: AccountFigures): bigint => {
    const on = side ?? a.normal;
    return on === 'debit' ? a.debits - a.credits : a.credits - a.debits;
  };
  const ofType = new Map(accounts.filter((a) => a.type === type).map((a) => [a.id, a]));
  const children = new Map<string | null, Chart['categories']>();
  for (const c of chart.categories) children.set(c.parent_id, [...(children.get(c.parent_id) ?? []), c]);
  const below = (id: string, seen: Set<string>): Set<string> => {
    const held = new Set((chart.members.get(id) ?? []).filter((a) => ofType.has(a)));
    for (const child of children.get(id) ?? []) {
      if (seen.has(child.id)) continue; // a cycle in stored data must not loop for ever
      seen.add(child.id);
      for (const a of below(child.id, seen)) held.add(a);
    }
    return held;
  };
  const node = (c: Chart['categories'][number]): ReportCategory | undefined => {
    const held = below(c.id, new Set([c.id]));
    if (held.size === 0) return undefined;
    let total = 0n;
    for (const id of held) total += balance(ofType.get(id)!);
    return {
      id: c.id,
      name: c.name,
      total: String(total),
      categories: (children.get(c.id) ?? []).map(node).filter((n): n is ReportCategory => n !== undefined),
    };
  };
  let total = 0n;
  for (const a of ofType.values()) total += balance(a);
  return {
    total: String(total),
    categories: (children.get(null) ?? []).map(node).filter((n): n is ReportCategory => n !== undefined),
    accounts: [...ofType.values()]
      .filter((a) => !chart.categorised.has(a.id))
      .map((a) => ({ accountId: a.id, name: a.name, balance: String(balance(a)) })),
  };
}
