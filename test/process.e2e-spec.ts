import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { connect } from './support/database.js';
import {
  freePort,
  type ServiceProcess,
  spawnService,
  START_ENV,
  START_FLAGS,
  START_SCRIPT,
  waitReady,
} from './support/process.js';

describe('the service as a process', () => {
  it('runs with the same node flags and environment under `npm start` and in the container image', async () => {
    expect(START_FLAGS).toContain('--max-old-space-size=160');
    expect(START_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(JSON.parse(cmd![1]!)).toEqual(['node', ...START_FLAGS, 'dist/src/main.js']);
    for (const [name, value] of Object.entries(START_ENV)) expect(dockerfile).toMatch(`\nENV ${name}=${value}\n`);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' }, 'JWT_SECRET'],
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'mysql://nope' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ADMIN_USERNAME: 'boss' }, 'ADMIN_PASSWORD'],
  ])('refuses bad configuration %j with one clear line and a non-zero exit', async (env, variable) => {
    const svc = spawnService({ LEDGER_DATA_DIR: '/nonexistent/never-used', ...env });
    expect(await svc.exited).toBe(1);
    const lines = svc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it("stops when npm start's shell is sent SIGTERM, as npm forwards it: the script execs node", async () => {
    const root = await mkdtemp(join(tmpdir(), 'ledger-start-'));
    await chmod(root, 0o755);
    const port = await freePort();
    // What npm runs; its own process group, so that whatever is left behind can be killed at the end.
    const shell = spawn('sh', ['-c', START_SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_LEVEL: 'info',
        LEDGER_DATA_DIR: join(root, 'data'),
        PORT: String(port),
        EMBEDDED_PG_PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    shell.stdout.on('data', (c: Buffer) => (out += c.toString()));
    shell.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => shell.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, 30_000);
      shell.kill('SIGTERM');
      // The signal reached the service itself (a shell in between would die and leave it running).
      expect(await exited).toBe(0);
      expect(out).toContain('SIGTERM received');
      await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    } finally {
      try {
        process.kill(-shell.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      await rm(root, { recursive: true, force: true });
    }
  });

  it('starts on embedded PostgreSQL, writes admin credentials 0600, drains on SIGTERM, and reuses its data', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ledger-proc-'));
    await chmod(root, 0o755); // mkdtemp makes it 0700, which the postgres user could not traverse
    const dataDir = join(root, 'data');
    const env = {
      LEDGER_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
    };
    try {
      const first = spawnService(env);
      expect(await waitReady(first.url, 30_000)).toBeLessThan(30_000);
      const file = join(dataDir, 'admin-credentials');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dataDir, 'jwt-secret'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dataDir, 'checkpoint-signing-key.pem'))).mode & 0o777).toBe(0o600);
      const password = /password=(\S+)/.exec(await readFile(file, 'utf8'))?.[1] ?? '';
      expect(password.length).toBeGreaterThanOrEqual(20);
      expect(first.output()).toContain(file);
      expect(first.output()).not.toContain(password);
      const login = async (url: string): Promise<number> =>
        (
          await fetch(`${url}/v1/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'admin', password }),
          })
        ).status;
      expect(await login(first.url)).toBe(200);
      // The embedded server runs with the settings the write path was measured with.
      const db = await connect(`postgres://ledger:ledger-embedded@127.0.0.1:${env.EMBEDDED_PG_PORT}/postgres`);
      try {
        const settings = await db.query<{ name: string; value: string }>(
          `SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name ORDER BY name`,
          [['checkpoint_timeout', 'max_pred_locks_per_page', 'max_wal_size', 'shared_buffers', 'wal_init_zero']],
        );
        expect(settings.rows.map((r) => `${r.name}=${r.value}`)).toEqual([
          'checkpoint_timeout=30min',
          'max_pred_locks_per_page=16',
          'max_wal_size=8GB',
          'shared_buffers=1GB',
          'wal_init_zero=off',
        ]);
      } finally {
        await db.end();
      }
      // A client that connected and sent nothing (a preconnect, a TCP health check) does not hold the drain.
      const silent = createConnection({ host: '127.0.0.1', port: Number(env.PORT) });
      silent.on('error', () => undefined);
      await new Promise((resolve) => silent.once('connect', resolve));
      const drainStarted = Date.now();
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(Date.now() - drainStarted).toBeLessThan(5000);
      expect(first.output()).toContain('SIGTERM received');
      silent.destroy();

      const second = spawnService(env);
      await waitReady(second.url, 30_000);
      expect(await login(second.url)).toBe(200);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('starts as root in a data directory made by mktemp -d (mode 0700) and reuses its data on the next start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-private-'));
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const env = {
      LEDGER_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
    };
    /** Ready, or the reason it exited: a start-up failure names itself instead of ending in a bare timeout. */
    const started = async (svc: ServiceProcess): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (svc.child.exitCode === null && Date.now() < deadline) {
        try {
          if ((await fetch(`${svc.url}/health/ready`)).status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`not ready (exit code ${svc.child.exitCode}):\n${svc.output()}`);
    };
    const stop = async (svc: ServiceProcess): Promise<void> => {
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
    };
    const running: ServiceProcess[] = [];
    try {
      const first = spawnService(env);
      running.push(first);
      await started(first);
      // Neither the directory nor the generated secrets are opened up to other users to let the postgres user in.
      expect((await stat(dataDir)).mode & 0o004).toBe(0);
      for (const name of ['admin-credentials', 'jwt-secret', 'checkpoint-signing-key.pem']) {
        expect((await stat(join(dataDir, name))).mode & 0o777).toBe(0o600);
      }
      const password = /password=(\S+)/.exec(await readFile(join(dataDir, 'admin-credentials'), 'utf8'))?.[1] ?? '';
      const token = async (url: string): Promise<string> => {
        const res = await fetch(`${url}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as { accessToken: string }).accessToken;
      };
      const created = await fetch(`${first.url}/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(first.url)}` },
        body: JSON.stringify({ currency: 'USD', normalBalance: 'credit', name: 'kept across restarts' }),
      });
      expect(created.status).toBe(201);
      const account = (await created.json()) as { id: string };
      const vkeyOf = async (url: string): Promise<string> => {
        const res = await fetch(`${url}/v1/audit/checkpoints/keys`, {
          headers: { authorization: `Bearer ${await token(url)}` },
        });
        return ((await res.json()) as { keys: { vkey: string }[] }).keys[0]!.vkey;
      };
      const vkey = await vkeyOf(first.url);
      await stop(first);

      const second = spawnService(env);
      running.push(second);
      await started(second);
      // Same cluster, same secret and same admin: the account made by the first run is still there.
      const found = await fetch(`${second.url}/v1/accounts/${account.id}`, {
        headers: { authorization: `Bearer ${await token(second.url)}` },
      });
      expect(found.status).toBe(200);
      expect(await found.json()).toMatchObject({ id: account.id, name: 'kept across restarts' });
      // And the same checkpoint key: checkpoints signed before the restart verify with the key shown after it.
      expect(await vkeyOf(second.url)).toBe(vkey);
      await stop(second);
    } finally {
      for (const svc of running) svc.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
