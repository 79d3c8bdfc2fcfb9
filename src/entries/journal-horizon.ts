import type { DataSource } from 'typeorm';

const WAIT_MS = 3000;

// The transactions of this database that hold a transaction id: its sessions' (but the asking one's) and its
// prepared transactions. Sequences belong to one database, so only these can have taken a value of ours.
const WRITERS = `SELECT backend_xid::text AS x FROM pg_stat_activity
  WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
  UNION ALL SELECT transaction::text FROM pg_prepared_xacts WHERE database = current_database()`;

/**
 * The highest `seq` below which the journal can no longer change: every entry at or below it is committed
 * (or was rolled back and will never appear). Sequence values are taken before their transaction commits,
 * so a reader paging by seq alone could pass an in-flight entry and never see it.
 *
 * Read the sequence's last value L first, then this database's transactions that hold an id: any transaction
 * that took a value ≤ L already had one (writers lock their accounts or transfer FOR UPDATE before inserting
 * entries), so it is either finished or listed. Wait for those to finish, and L is safe.
 *
 * Not the in-progress list of a snapshot (`pg_snapshot_xip`): it names only ids below the snapshot's xmax, one
 * past the latest *finished* id, so a writer newer than every finished transaction is missing from it; and it
 * names every database's transactions, so a long one elsewhere on the server held this journal back.
 * Returns undefined when a writer is still running after a few seconds (the caller answers "nothing yet").
 */
export function journalHorizon(db: DataSource): Promise<bigint | undefined> {
  return sequenceHorizon(db, 'ledger_entries_seq_seq');
}

/**
 * The same horizon for another append-only table whose rows are written by transactions that already hold an id
 * when they take its sequence's values: the outbox (SPEC 13), written at the end of a group that wrote before.
 */
export async function sequenceHorizon(
  db: Pick<DataSource, 'query'>,
  sequence: 'ledger_entries_seq_seq' | 'events_seq_seq',
): Promise<bigint | undefined> {
  const [seq] = await db.query<[{ last_value: string; is_called: boolean }]>(
    `SELECT last_value, is_called FROM ${sequence}`,
  );
  const horizon = seq.is_called ? BigInt(seq.last_value) : 0n;
  const [writers] = await db.query<[{ xids: string[] | null }]>(`SELECT array_agg(x) AS xids FROM (${WRITERS}) w`);
  const xids = writers.xids ?? [];
  if (xids.length === 0) return horizon;
  const started = Date.now();
  for (let delay = 1; Date.now() - started < WAIT_MS; delay = Math.min(delay * 2, 50)) {
    // A finished transaction's id leaves both views as its commit becomes visible.
    const [running] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM (${WRITERS}) w WHERE x = ANY($1::text[])`,
      [xids],
    );
    if (running.n === 0) return horizon;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return undefined;
}
