import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SYSTEM_REQUEST } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { expireDue } from './transfer-writes.js';

const INTERVAL_MS = 1000;
const BATCH = 200;

/** Releases expired reservations within about a second, whether or not anyone touches the transfer. */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ExpirySweeper.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly writes: Writes) {}

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

  async sweep(): Promise<void> {
    try {
      for (;;) {
        const outcome = await this.writes.submit(SYSTEM_REQUEST, { run: expireDue(BATCH) });
        // Expiring refuses nothing; a full batch means more may be due.
        if ('refusal' in outcome || outcome.value < BATCH) break;
      }
    } catch (error) {
      // The database may be away; the next tick tries again.
      this.logger.warn({ err: error }, 'expiry sweep failed');
    }
  }
}
