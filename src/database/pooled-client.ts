import pg, { type Pool, type PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The connection class of every pool the service opens: it listens for 'error' from birth. pg emits 'error'
 * when the server ends a session (pg_terminate_backend, a restart) and no query is waiting, and with nobody
 * listening Node kills the process. The pools listen while a connection is idle and `checkout` while it is
 * held, yet the chaos test once caught an instance dying of such an error all the same. A connection that
 * failed still fails its queries, and the pools drop a connection that can no longer be queried.
 */
export class ListeningClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => {});
  }
}

/** TypeORM's postgres driver keeps its pg.Pool in `master`; transactions that need one connection use it. */
export function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

export interface Checkout {
  client: PoolClient;
  /** Whether the connection failed while checked out (the server ended the session, the socket broke). */
  readonly failed: boolean;
  /** Back to the pool, or destroyed when it failed or `destroy` says its state is unknown. */
  release(this: void, destroy?: boolean): void;
}

/**
 * Checks a client out of the pool with an 'error' listener of its own (pg-pool removes its listener while a
 * client is checked out): it records that the connection failed (pg_terminate_backend, a PostgreSQL restart),
 * so that `release` destroys it instead of pooling it; the failure surfaces as the rejected query.
 */
export async function checkout(pool: Pool): Promise<Checkout> {
  const client = await pool.connect();
  let failed = false;
  const onError = (): void => {
    failed = true;
  };
  client.on('error', onError);
  return {
    client,
    get failed() {
      return failed;
    },
    release(destroy = false) {
      client.removeListener('error', onError);
      client.release(destroy || failed);
    },
  };
}
