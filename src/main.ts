import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createApp } from './app.factory.js';
import { lineFormatter } from './common/log-output.js';
import { ConfigError, loadConfig } from './config/config.js';
import { checkpointKeyFromDataDir } from './config/checkpoint-key.js';
import { jwtSecretFromDataDir } from './config/jwt-secret.js';
import { startEmbeddedPostgres } from './database/embedded-postgres.js';

const DRAIN_DEADLINE_MS = 15_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env, process.stdout);
  const format = await lineFormatter(config.prettyLogs);
  const say = (message: string): void => {
    process.stdout.write(format({ level: 30, time: Date.now(), msg: message }));
  };
  const embedded =
    config.databaseUrl === undefined
      ? await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, say)
      : undefined;
  const jwtSecret = config.jwtSecret ?? (await jwtSecretFromDataDir(config.dataDir));
  const checkpointSigningKey = config.checkpointSigningKey ?? (await checkpointKeyFromDataDir(config.dataDir));
  const app = await createApp({
    ...config,
    jwtSecret,
    checkpointSigningKey,
    databaseUrl: config.databaseUrl ?? embedded!.url,
  });
  // Connections with a request in flight, so that a drain can let go of every other one: Node's
  // closeIdleConnections() leaves a connection that has not sent a request yet (a preconnect, a TCP health check)
  // open, and server.close() then waits for it until the drain deadline.
  const server = app.getHttpAdapter().getInstance().server;
  const sockets = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, 0);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
    response.once('close', () => sockets.has(socket) && sockets.set(socket, sockets.get(socket)! - 1));
  });
  await app.listen({ port: config.port, host: config.host });
  say(`ledger service listening on ${await app.getUrl()} (docs at /docs)`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received: draining in-flight requests`);
    // A request that cannot finish (a database that hangs) must not keep the process alive forever: past the
    // deadline, exit anyway; an open transaction rolls back when its connection closes.
    setTimeout(() => {
      say(`drain did not finish within ${DRAIN_DEADLINE_MS} ms: exiting`);
      process.exit(1);
    }, DRAIN_DEADLINE_MS).unref();
    // app.close() stops accepting connections, waits for in-flight requests, then closes the pool. A connection
    // with no request in flight (keep-alive after its last answer, or none sent yet) would otherwise hold it open
    // until the client lets go.
    setInterval(() => {
      for (const [socket, requests] of sockets) if (requests === 0) socket.destroy();
    }, 100).unref();
    await app.close();
    await embedded?.stop();
    say('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
  } else {
    process.stderr.write(
      `Start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
