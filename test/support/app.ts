import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { createDatabase } from './database.js';
import { TEST_CHECKPOINT_KEY } from './process.js';

export { TEST_CHECKPOINT_KEY };

export const ADMIN = { username: 'root-admin', password: 'admin-password-123' };
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface TestApp {
  app: NestFastifyApplication;
  databaseUrl: string;
  config: Config & { databaseUrl: string };
  request<T = any>(
    method: string,
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string },
  ): Promise<Reply<T>>;
  close(): Promise<void>;
}

/** The real application on a fresh database of the suite's own, driven in-process through Fastify's inject. */
export async function startTestApp(env: Record<string, string> = {}, sharedDatabaseUrl?: string): Promise<TestApp> {
  // A second instance on the same database (as several replicas would run) passes the first one's URL.
  const databaseUrl = sharedDatabaseUrl ?? (await createDatabase());
  const config = {
    ...loadConfig({
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'silent',
      DB_POOL_SIZE: '10',
      ...env,
    }),
    databaseUrl,
  };
  const app = await createApp(config);
  return {
    app,
    databaseUrl,
    config,
    async request(method, url, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      let payload: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        payload = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.inject({ method: method as 'GET', url, headers, payload });
      let body: unknown;
      try {
        body = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        // not JSON: the test reads `text`
      }
      return { status: res.statusCode, headers: res.headers as Reply['headers'], body: body as never, text: res.body };
    },
    close: () => app.close(),
  };
}
