import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createStatementTrigger,
  monitorHolds,
  NOTIFY_IF_FIRED,
  triggeredData,
} from './1766800000000-balance-monitors.js';

/**
 * Balance monitors fire from a row trigger that runs only for accounts someone watches. The statement trigger it
 * replaces kept transition tables of every account every write touched, watched or not, which cost the hot path
 * (BENCHMARKS.md). Now `accounts.monitored`, kept by a trigger on `balance_monitors`, says whether an account has
 * a monitor, and the trigger's WHEN tests it before PostgreSQL queues anything: an account nobody watches costs
 * one boolean test per update. A row is updated at most once per statement, so comparing OLD with NEW is the same
 * before-and-after comparison as before.
 */
export class MonitoredAccounts1766900000000 implements MigrationInterface {
  name = 'MonitoredAccounts1766900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER accounts_balance_monitors ON accounts`);
    await q.query(`DROP FUNCTION balance_monitors_fire()`);
    await q.query(`ALTER TABLE accounts ADD COLUMN monitored boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE accounts a SET monitored = true
      WHERE EXISTS (SELECT 1 FROM balance_monitors m WHERE m.account_id = a.id AND NOT m.deleted)`);
    // Creating or deleting a monitor updates its account's row, so it waits for (or fails to serialise with) a
    // write in flight on that account: a monitor is in place either before a write or after it, never halfway.
    await q.query(`CREATE FUNCTION balance_monitors_mark() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE accounts a SET monitored = w.live
        FROM (SELECT EXISTS (SELECT 1 FROM balance_monitors m WHERE m.account_id = NEW.account_id AND NOT m.deleted)
              AS live) w
        WHERE a.id = NEW.account_id AND a.monitored <> w.live;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER balance_monitors_mark AFTER INSERT OR UPDATE OF deleted ON balance_monitors
      FOR EACH ROW EXECUTE FUNCTION balance_monitors_mark()`);
    await q.query(`CREATE FUNCTION balance_monitors_fire() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO events (id, type, ledger_id, occurred_at, data)
        SELECT gen_random_uuid(), 'balance.monitor.triggered', m.ledger_id, date_trunc('milliseconds', now()),
          ${triggeredData('NEW')}
        FROM balance_monitors m
        WHERE m.account_id = NEW.id AND NOT m.deleted AND ${monitorHolds('NEW')} AND NOT ${monitorHolds('OLD')}
        ORDER BY m.seq;
        ${NOTIFY_IF_FIRED}
      END $$`);
    await q.query(`CREATE TRIGGER accounts_balance_monitors AFTER UPDATE ON accounts
      FOR EACH ROW WHEN (NEW.monitored) EXECUTE FUNCTION balance_monitors_fire()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER accounts_balance_monitors ON accounts`);
    await q.query(`DROP FUNCTION balance_monitors_fire()`);
    await q.query(`DROP TRIGGER balance_monitors_mark ON balance_monitors`);
    await q.query(`DROP FUNCTION balance_monitors_mark()`);
    await q.query(`ALTER TABLE accounts DROP COLUMN monitored`);
    await createStatementTrigger(q);
  }
}
