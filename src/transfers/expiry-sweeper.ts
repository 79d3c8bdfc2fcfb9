import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SYSTEM_REQUEST } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { expireDueTransactions } from '../transactions/transaction-writes.js';
import { expireDue } from './transfer-writes.js';

const INTERVAL_MS = 1000;
const BATCH = 200;

/**
 * The ledgers with a pending transfer or transaction due to expire: read from `transfers_pending_expiry_idx` and
 * `transactions_pending_expiry_idx` (ledger_id, expires_at), which hold only pending ones with an expiry.
 */
export const DUE_LEDGERS_SQL = `SELECT DISTINCT ledger_id FROM transfers WHERE status = 'pending' AND expires_at <= now()
  UNION SELECT DISTINCT ledger_id FROM transactions WHERE status = 'pending' AND expires_at <= now()`;

/** Releases expired reservations within about a second, whether or not anyone touches the transfer or transaction. */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ExpirySweeper.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: Writes,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, INTERVAL_MS);
    this.timer.unref();
  }

  /** No new sweep once shutting down starts (before the HTTP server drains), then wait for the one running. */
  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running;
  }

  /** Each ledger with something due is swept in its own lane, beside that ledger's other writes. */
  async sweep(): Promise<void> {
    try {
      const due = await this.db.query<{ ledger_id: string }[]>(DUE_LEDGERS_SQL);
      await Promise.all(due.map((r) => this.sweepLedger(r.ledger_id)));
    } catch (error) {
      // The database may be away; the next tick tries again.
      this.logger.warn({ err: error }, 'expiry sweep failed');
    }
  }

  private async sweepLedger(ledgerId: string): Promise<void> {
    for (const expire of [expireDue, expireDueTransactions]) {
      for (;;) {
        const outcome = await this.writes.submit(SYSTEM_REQUEST, { run: expire(ledgerId, BATCH) }, ledgerId);
        // Expiring refuses nothing; a full batch means more may be due.
        if ('refusal' in outcome || outcome.value < BATCH) break;
      }
    }
  }
}
