import type { DataSource } from 'typeorm';

const WAIT_MS = 3000;

/**
 * The highest `seq` below which the journal can no longer change: every entry at or below it is committed
 * (or was rolled back and will never appear). Sequence values are taken before their transaction commits,
 * so a reader paging by seq alone could pass an in-flight entry and never see it.
 *
 * Read the sequence's last value L first, then a snapshot: any transaction that took a value ≤ L already had
 * a transaction id (writers lock their accounts or transfer FOR UPDATE before inserting entries), so it is
 * either committed or listed as in progress in that snapshot. Wait for those to finish, and L is safe.
 * Returns undefined when a writer is still running after a few seconds (the caller answers "nothing yet").
 */
export async function journalHorizon(db: DataSource): Promise<bigint | undefined> {
  const [seq] = await db.query<[{ last_value: string; is_called: boolean }]>(
    'SELECT last_value, is_called FROM ledger_entries_seq_seq',
  );
  const horizon = seq.is_called ? BigInt(seq.last_value) : 0n;
  const [snap] = await db.query<[{ xids: string[] | null }]>(
    'SELECT array_agg(x)::text[] AS xids FROM pg_snapshot_xip(pg_current_snapshot()) AS x',
  );
  const xids = snap.xids ?? [];
  if (xids.length === 0) return horizon;
  const started = Date.now();
  for (let delay = 1; Date.now() - started < WAIT_MS; delay = Math.min(delay * 2, 50)) {
    const [running] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM unnest($1::xid8[]) AS x WHERE pg_xact_status(x) = 'in progress'`,
      [xids],
    );
    if (running.n === 0) return horizon;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return undefined;
}
