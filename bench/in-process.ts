import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { freePort } from '../test/support/process.js';

export const say = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);

export type Call = (
  method: 'GET' | 'POST',
  url: string,
  token?: string,
  body?: unknown,
) => Promise<Record<string, unknown>>;

/**
 * The service in this process on an embedded PostgreSQL of its own, for the benchmarks that time single requests
 * through the whole HTTP stack (routing, auth, validation, the database) without a network in between. The
 * Merkle tree builder waits (`TREE_INTERVAL_MS`) so that it takes no CPU from what is timed. `run` gets the
 * database's URL, a caller and an admin's token; everything is stopped and removed afterwards.
 */
export async function inProcess(
  name: string,
  run: (service: { url: string; call: Call; token: string }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `ledger-${name}-`));
  await chmod(dir, 0o755);
  const embedded = await startEmbeddedPostgres(join(dir, 'data'), await freePort(), say);
  try {
    const config = {
      ...loadConfig({
        DATABASE_URL: embedded.url,
        JWT_SECRET: `${name}-bench-secret-that-is-long-enough-32`,
        CHECKPOINT_SIGNING_KEY: generateKeyPairSync('ed25519')
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
        ADMIN_USERNAME: 'bench-admin',
        ADMIN_PASSWORD: 'bench-admin-password',
        LOG_LEVEL: 'silent',
        TREE_INTERVAL_MS: '600000',
      }),
      databaseUrl: embedded.url,
    };
    const app = await createApp(config);
    try {
      const call: Call = async (method, url, token, body) => {
        const res = await app.inject({
          method,
          url,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            'content-type': 'application/json',
          },
          payload: body === undefined ? undefined : JSON.stringify(body),
        });
        if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
        return JSON.parse(res.body) as Record<string, unknown>;
      };
      const token = (
        await call('POST', '/v1/auth/token', undefined, { username: 'bench-admin', password: 'bench-admin-password' })
      ).accessToken as string;
      await run({ url: embedded.url, call, token });
    } finally {
      await app.close();
    }
  } finally {
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a benchmark's `main`, printing its failure and exiting non-zero. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
