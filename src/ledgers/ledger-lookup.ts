import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isUuidShaped } from '../common/validators.js';

/** Remembered rows at most, per kind; a full map is emptied (every entry can be read again). */
const MAX_REMEMBERED = 100_000;

/**
 * Which ledger a write is about, before it runs: the lane it queues in (`Writes.submit`). An account's or a
 * transfer's ledger never changes (the database refuses it) and a ledger's name never changes, so what is read
 * once is remembered without ever going stale. Only routing depends on it, never a decision: the write itself
 * reads everything again inside its transaction, and an unknown id simply goes to the shared lane (undefined).
 */
@Injectable()
export class LedgerLookup {
  private readonly accounts = new Map<string, string>();
  private readonly names = new Map<string, string>();
  /** Accounts asked for and not yet looked up, with who waits for each. */
  private wanted = new Map<string, ((ledgerId: string | undefined) => void)[]>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Accounts not yet remembered are looked up together: every miss of one turn of the event loop in one query,
   * so that a burst of first touches (thousands of accounts after a start) costs a few queries, not one each.
   */
  ofAccount(id: string): Promise<string | undefined> {
    const known = this.accounts.get(id);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const waiting = this.wanted.get(id);
      if (waiting !== undefined) waiting.push(resolve);
      else this.wanted.set(id, [resolve]);
      if (this.wanted.size === 1) setImmediate(() => void this.lookUpWanted());
    });
  }

  /** An account this instance just opened: its ledger is known without asking. */
  rememberAccount(id: string, ledgerId: string): void {
    remember(this.accounts, id, ledgerId);
  }

  private async lookUpWanted(): Promise<void> {
    const wanted = this.wanted;
    this.wanted = new Map();
    // Routing only: if the database cannot say, the writes go to the shared lane and fail or succeed there.
    const rows = await this.db
      .query<{ id: string; ledger_id: string }[]>(`SELECT id, ledger_id FROM accounts WHERE id = ANY($1::uuid[])`, [
        [...wanted.keys()],
      ])
      .catch(() => []);
    const found = new Map(rows.map((r) => [r.id, r.ledger_id]));
    for (const [id, ledgerId] of found) remember(this.accounts, id, ledgerId);
    for (const [id, resolvers] of wanted) for (const resolve of resolvers) resolve(found.get(id));
  }

  /** Transfers are too many to remember; one lookup by primary key. */
  async ofTransfer(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ ledger_id: string }[]>(`SELECT ledger_id FROM transfers WHERE id = $1`, [id]);
    return row?.ledger_id;
  }

  /** A transaction's ledger, also one lookup by primary key. */
  async ofTransaction(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ ledger_id: string }[]>(`SELECT ledger_id FROM transactions WHERE id = $1`, [
      id,
    ]);
    return row?.ledger_id;
  }

  /** A ledger named by its id or its name. */
  async ofRef(ref: string): Promise<string | undefined> {
    if (isUuidShaped(ref)) return ref;
    const known = this.names.get(ref);
    if (known !== undefined) return known;
    const [row] = await this.db.query<{ id: string }[]>(`SELECT id FROM ledgers WHERE name = $1`, [ref]);
    if (row !== undefined) remember(this.names, ref, row.id);
    return row?.id;
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}
