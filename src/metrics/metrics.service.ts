import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** One registry per application instance, so several apps in one test process do not collide. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly serializationRetries = new Counter({
    name: 'ledger_transaction_retries_total',
    help: 'SERIALIZABLE transactions retried after a serialization failure (40001) or deadlock (40P01)',
    labelNames: ['sqlstate'] as const,
    registers: [this.registry],
  });

  readonly transactionsExhausted = new Counter({
    name: 'ledger_transaction_retries_exhausted_total',
    help: 'Units of work answered 503 because their retries ran out',
    registers: [this.registry],
  });

  // Group commit at work: how many units each transaction carried, and how long each took to commit.
  readonly groupUnits = new Histogram({
    name: 'ledger_group_commit_units',
    help: 'Units of work per group-commit transaction (each new transfer counts one, any other write one)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
    registers: [this.registry],
  });

  readonly groupDuration = new Histogram({
    name: 'ledger_group_commit_duration_seconds',
    help: 'Time from the start of a group-commit transaction to its commit or failure, retries included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'ledger_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (any other answer, or none), refused (a forbidden address)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
