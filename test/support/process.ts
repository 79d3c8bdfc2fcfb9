import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** `npm start`'s command line (package.json), which npm runs with `sh -c`. */
export const START_SCRIPT = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts
  .start;
/** The environment and node flags of `npm start`: tests run the service as production does. */
const start = START_SCRIPT.split(' ');
export const START_FLAGS = start.filter((word) => word.startsWith('--'));
export const START_ENV = Object.fromEntries(
  start.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => word.split('=') as [string, string]),
);

/** The built service (`dist/`, made by `npm test`'s pretest build) as a real child process. */
export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** The checkpoint signing key of every service a test starts on a database of its own (SPEC 14). */
export const TEST_CHECKPOINT_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

export function spawnService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [...START_FLAGS, 'dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...START_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${env.PORT ?? '3000'}`, output: () => out, exited };
}

export async function waitReady(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready within ${timeoutMs} ms`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
