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

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async ofAccount(id: string): Promise<string | undefined> {
    const known = this.accounts.get(id);
    if (known !== undefined) return known;
    const [row] = await this.db.query<{ ledger_id: string }[]>(`SELECT ledger_id FROM accounts WHERE id = $1`, [id]);
    if (row !== undefined) remember(this.accounts, id, row.ledger_id);
    return row?.ledger_id;
  }

  /** Transfers are too many to remember; one lookup by primary key. */
  async ofTransfer(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ ledger_id: string }[]>(`SELECT ledger_id FROM transfers WHERE id = $1`, [id]);
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
