import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An account's posted or available balance, on its normal side, from a row of `accounts` named `r`. */
const balanceOf = (r: string, which: 'posted' | 'available'): string => {
  const posted = `CASE ${r}.normal_balance WHEN 'credit' THEN ${r}.credits_posted - ${r}.debits_posted
    ELSE ${r}.debits_posted - ${r}.credits_posted END`;
  if (which === 'posted') return `(${posted})`;
  return `(${posted} - CASE ${r}.normal_balance WHEN 'credit' THEN ${r}.debits_pending ELSE ${r}.credits_pending END)`;
};

/** The balance monitor `m` watches, of the account row `r`. */
const watched = (r: string): string =>
  `(CASE m.balance WHEN 'posted' THEN ${balanceOf(r, 'posted')} ELSE ${balanceOf(r, 'available')} END)`;

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
    // Whether monitor m's condition holds for the account row r.
    const test = (r: string): string => `(CASE m.op
      WHEN 'lt' THEN ${watched(r)} < m.amount WHEN 'lte' THEN ${watched(r)} <= m.amount
      WHEN 'gt' THEN ${watched(r)} > m.amount ELSE ${watched(r)} >= m.amount END)`;
    await q.query(`CREATE FUNCTION balance_monitors_fire() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO events (id, type, ledger_id, occurred_at, data)
        SELECT gen_random_uuid(), 'balance.monitor.triggered', m.ledger_id, date_trunc('milliseconds', now()),
          jsonb_build_object(
            'monitor', jsonb_build_object('id', m.id, 'accountId', m.account_id,
              'condition', jsonb_build_object(m.balance, jsonb_build_object(m.op, m.amount::text)),
              'description', m.description),
            'accountId', n.id,
            'version', n.version,
            'balances', jsonb_build_object('debitsPosted', n.debits_posted::text, 'creditsPosted', n.credits_posted::text,
              'debitsPending', n.debits_pending::text, 'creditsPending', n.credits_pending::text,
              'posted', ${balanceOf('n', 'posted')}::text, 'available', ${balanceOf('n', 'available')}::text))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN balance_monitors m ON m.account_id = n.id AND NOT m.deleted
        WHERE ${test('n')} AND NOT ${test('o')}
        ORDER BY n.id, m.seq;
        IF FOUND THEN
          PERFORM pg_notify('ledger_events', '');
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER accounts_balance_monitors AFTER UPDATE ON accounts
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION balance_monitors_fire()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER accounts_balance_monitors ON accounts`);
    await q.query(`DROP FUNCTION balance_monitors_fire()`);
    await q.query(`DROP TABLE balance_monitors`);
  }
}
