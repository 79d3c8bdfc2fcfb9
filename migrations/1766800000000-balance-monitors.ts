import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An account's posted or available balance, on its normal side, from a row of `accounts` named `r`. */
export const balanceOf = (r: string, which: 'posted' | 'available'): string => {
  const posted = `CASE ${r}.normal_balance WHEN 'credit' THEN ${r}.credits_posted - ${r}.debits_posted
    ELSE ${r}.debits_posted - ${r}.credits_posted END`;
  if (which === 'posted') return `(${posted})`;
  return `(${posted} - CASE ${r}.normal_balance WHEN 'credit' THEN ${r}.debits_pending ELSE ${r}.credits_pending END)`;
};

/** The balance monitor `m` watches, of the account row `r`. */
const watched = (r: string): string =>
  `(CASE m.balance WHEN 'posted' THEN ${balanceOf(r, 'posted')} ELSE ${balanceOf(r, 'available')} END)`;

/** Whether the condition of the monitor `m` holds for the account row `r`. */
export const monitorHolds = (r: string): string => `(CASE m.op
  WHEN 'lt' THEN ${watched(r)} < m.amount WHEN 'lte' THEN ${watched(r)} <= m.amount
  WHEN 'gt' THEN ${watched(r)} > m.amount ELSE ${watched(r)} >= m.amount END)`;

/** The data of the `balance.monitor.triggered` event of the monitor `m`, for the account row `r` a write left. */
export const triggeredData = (r: string): string => `jsonb_build_object(
  'monitor', jsonb_build_object('id', m.id, 'accountId', m.account_id,
    'condition', jsonb_build_object(m.balance, jsonb_build_object(m.op, m.amount::text)),
    'description', m.description),
  'accountId', ${r}.id,
  'version', ${r}.version,
  'balances', jsonb_build_object('debitsPosted', ${r}.debits_posted::text, 'creditsPosted', ${r}.credits_posted::text,
    'debitsPending', ${r}.debits_pending::text, 'creditsPending', ${r}.credits_pending::text,
    'posted', ${balanceOf(r, 'posted')}::text, 'available', ${balanceOf(r, 'available')}::text))`;

/** The end of the monitors' trigger functions: wake the feed's long polls if an event was written. */
export const NOTIFY_IF_FIRED = `IF FOUND THEN
        PERFORM pg_notify('ledger_events', '');
      END IF;
      RETURN NULL;`;

/** The first form of the trigger; `1766900000000-monitored-accounts` replaces it, and puts it back on the way down. */
export async function createStatementTrigger(q: QueryRunner): Promise<void> {
  await q.query(`CREATE FUNCTION balance_monitors_fire() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO events (id, type, ledger_id, occurred_at, data)
      SELECT gen_random_uuid(), 'balance.monitor.triggered', m.ledger_id, date_trunc('milliseconds', now()),
        ${triggeredData('n')}
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      JOIN balance_monitors m ON m.account_id = n.id AND NOT m.deleted
      WHERE ${monitorHolds('n')} AND NOT ${monitorHolds('o')}
      ORDER BY n.id, m.seq;
      ${NOTIFY_IF_FIRED}
    END $$`);
  await q.query(`CREATE TRIGGER accounts_balance_monitors AFTER UPDATE ON accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION balance_monitors_fire()`);
}

/**
 * Balance monitors (SPEC 13). A monitor fires when a write turns its condition from false to true: a statement
 * trigger on `accounts` compares each changed account's balances before and after the statement (transition
 * tables), in the write's own transaction, and writes the `balance.monitor.triggered` event into the outbox there.
 * So every path that moves money is covered, none can forget it, and a write that rolls back leaves no event.
 */
export class BalanceMonitors1766800000000 implements MigrationInterface {
  name = 'BalanceMonitors1766800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE balance_monitors (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      account_id uuid NOT NULL,
      ledger_id uuid NOT NULL,
      balance text NOT NULL CHECK (balance IN ('available', 'posted')),
      op text NOT NULL CHECK (op IN ('lt', 'lte', 'gt', 'gte')),
      amount bigint NOT NULL,
      description text,
      deleted boolean NOT NULL DEFAULT false,
      created_by jsonb,
      created_at timestamp(3) with time zone NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX balance_monitors_account_idx ON balance_monitors (account_id) WHERE NOT deleted`);
    await createStatementTrigger(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER accounts_balance_monitors ON accounts`);
    await q.query(`DROP FUNCTION balance_monitors_fire()`);
    await q.query(`DROP TABLE balance_monitors`);
  }
}
