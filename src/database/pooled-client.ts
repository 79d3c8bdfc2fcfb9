import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

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
 * Checks a client out of the pool with an 'error' listener of its own: pg-pool removes its listener while a
 * client is checked out, and an 'error' nobody listens to (pg_terminate_backend, a PostgreSQL restart) would
 * kill the process. The failure then surfaces as the rejected query instead.
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
