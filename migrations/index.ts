import { UsersAndIdempotency1763700000000 } from './1763700000000-users-and-idempotency.js';

/** Every migration in order; listed explicitly so the same code runs compiled, under ts-jest and in the CLI. */
export const MIGRATIONS: Function[] = [UsersAndIdempotency1763700000000];
