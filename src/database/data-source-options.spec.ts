import { dataSourceOptions } from './data-source-options.js';

describe('dataSourceOptions', () => {
  const options = dataSourceOptions('postgres://u:p@localhost:5432/db', {
    poolSize: 7,
    statementTimeoutMs: 4000,
    applicationName: 'ledger-test',
  }) as unknown as Record<string, unknown> & { extra: Record<string, number> };

  it('never synchronizes the schema from the entities', () => {
    expect(options.synchronize).toBe(false);
    expect(options.migrationsRun ?? false).toBe(false);
  });

  it('bounds every statement, lock wait, idle transaction and connection attempt', () => {
    expect(options.extra.statement_timeout).toBe(4000);
    expect(options.extra.lock_timeout).toBe(4000);
    expect(options.extra.idle_in_transaction_session_timeout).toBe(30_000);
    expect(options.connectTimeoutMS).toBe(2000);
    expect(options.poolSize).toBe(7);
    expect(options.applicationName).toBe('ledger-test');
  });
});
