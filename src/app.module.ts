import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AccountsModule } from './accounts/accounts.module.js';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AdminLogModule } from './admin-log/admin-log.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CategoriesModule } from './categories/categories.module.js';
import { CheckpointsModule } from './checkpoints/checkpoints.module.js';
import { EventsModule } from './events/events.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { MonitorsModule } from './monitors/monitors.module.js';
import { logTransport } from './common/log-output.js';
import { CONFIG, type Config } from './config/config.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { WritesModule } from './writes/writes.module.js';
import { HealthController } from './health/health.controller.js';
import { LedgersModule } from './ledgers/ledgers.module.js';
import { requestIdOf } from './http/request-id.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsService } from './metrics/metrics.service.js';
import { ReportsModule } from './reports/reports.module.js';
import { TransactionsModule } from './transactions/transactions.module.js';
import { TransfersModule } from './transfers/transfers.module.js';

/** `config.databaseUrl` is resolved by the caller (embedded PostgreSQL or `DATABASE_URL`) before the app is built. */
@Module({})
export class AppModule {
  static register(config: Config & { databaseUrl: string }): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            transport: logTransport(config.prettyLogs),
            genReqId: (req) => requestIdOf(req),
            customProps: (req) => ({ requestId: requestIdOf(req) }),
            redact: {
              paths: [
                'req.headers.authorization',
                'req.headers.cookie',
                'req.headers["idempotency-key"]',
                '*.password',
                '*.passwordHash',
                '*.accessToken',
                '*.token',
              ],
              censor: '[redacted]',
            },
            autoLogging: { ignore: (req) => req.url === '/metrics' || (req.url ?? '').startsWith('/health') },
          },
        }),
        TypeOrmModule.forRoot(
          dataSourceOptions(config.databaseUrl, {
            poolSize: config.dbPoolSize,
            statementTimeoutMs: config.dbStatementTimeoutMs,
            applicationName: config.appName,
          }),
        ),
        TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }),
        WritesModule,
        AuthModule,
        ApiKeysModule,
        LedgersModule,
        AccountsModule,
        TransfersModule,
        TransactionsModule,
        AuditModule,
        AdminLogModule,
        CheckpointsModule,
        CategoriesModule,
        ReportsModule,
        EventsModule,
        WebhooksModule,
        MonitorsModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: CONFIG, useValue: config }, MetricsService],
      exports: [CONFIG, MetricsService],
    };
  }
}
