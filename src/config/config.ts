import { createPrivateKey } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { isKeyName } from '../core/signed-note.js';

/** Raised for a wrong or missing environment variable; main prints its message as one line and exits 1. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(`${variable} ${expected}${got === undefined ? '' : `, got ${JSON.stringify(truncate(got))}`}`);
    this.name = 'ConfigError';
  }
}

/** Injection token for the validated configuration. */
export const CONFIG = Symbol('CONFIG');

export interface Config {
  port: number;
  host: string;
  /** Unset: the service starts an embedded PostgreSQL in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  /** Unset only in embedded mode, where a secret is generated into the data directory. */
  jwtSecret: string | undefined;
  jwtIssuer: string;
  jwtAudience: string;
  jwtTtlSeconds: number;
  /** The company's identity provider (SPEC 10): all three set, or none (its tokens are then refused). */
  external:
    | {
        jwksUrl: string;
        issuer: string;
        audience: string;
        rolesClaim: string;
        ledgersClaim: string;
        /** Least time between two fetches of the key set on an unknown `kid` (SPEC: 30 s). */
        jwksCooldownMs: number;
      }
    | undefined;
  /** Failed logins allowed per username per window (five times that per client address). */
  loginRateLimit: number;
  loginRateWindowSeconds: number;
  adminUsername: string | undefined;
  adminPassword: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Ed25519 private key (PKCS#8 PEM) signing checkpoints; unset only in embedded mode (generated into dataDir). */
  checkpointSigningKey: string | undefined;
  /** First line of every checkpoint is `<origin>/<ledger name>` (SPEC 14). */
  checkpointOrigin: string;
  /** The key's name in signatures and in its verifier key (c2sp.org/signed-note). */
  checkpointKeyName: string;
  /** A checkpoint of every ledger whose tree grew, this often. */
  checkpointIntervalSeconds: number;
  /** How often each instance extends the trees up to the journal's horizon. */
  treeIntervalMs: number;
  /** Webhook deliveries may go to loopback, private and link-local addresses (SPEC 13; tests, closed networks). */
  webhookAllowPrivate: boolean;
  /** A failed delivery is retried after this × 2ⁿ⁻¹ seconds, with jitter, at most an hour… */
  webhookRetryBaseSeconds: number;
  /** …for this long after the first failure; then the webhook is disabled. */
  webhookRetryWindowSeconds: number;
  /** Name the service's connections carry in pg_stat_activity (used by operators and the chaos test). */
  appName: string;
  /** Request body bytes held at once; a request beyond it is answered 503 before its body is read. */
  inFlightBodyBytes: number;
  /** Log lines for a person (pino-pretty) rather than JSON: only when stdout is a terminal, never from the env. */
  prettyLogs: boolean;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `stdout` is where the logs go; anything but a terminal (a pipe, a file, a collector, the tests) gets JSON. */
export function loadConfig(env: Env, stdout: { isTTY?: boolean } = {}): Config {
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL', '<redacted>');
  }
  const jwtSecret = optional(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret, 'utf8') < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes long', undefined);
  }
  if (databaseUrl !== undefined && jwtSecret === undefined) {
    throw new ConfigError('JWT_SECRET', 'is required (at least 32 bytes) when DATABASE_URL is set', undefined);
  }
  const adminUsername = optional(env, 'ADMIN_USERNAME');
  const adminPassword = optional(env, 'ADMIN_PASSWORD');
  if ((adminUsername === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminUsername === undefined ? 'ADMIN_USERNAME' : 'ADMIN_PASSWORD',
      'must be set together with ' + (adminUsername === undefined ? 'ADMIN_PASSWORD' : 'ADMIN_USERNAME'),
      undefined,
    );
  }
  if (adminUsername !== undefined && !/^[A-Za-z0-9._@-]{3,64}$/.test(adminUsername)) {
    throw new ConfigError('ADMIN_USERNAME', 'must be 3-64 letters, digits, ".", "_", "@" or "-"', adminUsername);
  }
  if (adminPassword !== undefined && (adminPassword.length < 12 || adminPassword.length > 256)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 12-256 characters long', undefined);
  }
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);
  }
  const checkpointSigningKey = optional(env, 'CHECKPOINT_SIGNING_KEY');
  if (checkpointSigningKey !== undefined && !isEd25519PrivateKey(checkpointSigningKey)) {
    throw new ConfigError('CHECKPOINT_SIGNING_KEY', 'must be an Ed25519 private key in PKCS#8 PEM', undefined);
  }
  if (databaseUrl !== undefined && checkpointSigningKey === undefined) {
    throw new ConfigError(
      'CHECKPOINT_SIGNING_KEY',
      'is required (Ed25519, PKCS#8 PEM) when DATABASE_URL is set',
      undefined,
    );
  }
  const checkpointOrigin = optional(env, 'CHECKPOINT_ORIGIN') ?? 'ledger-service';
  if (!/^[\x21-\x7e]{1,100}$/.test(checkpointOrigin)) {
    throw new ConfigError(
      'CHECKPOINT_ORIGIN',
      'must be 1-100 printable ASCII characters without spaces',
      checkpointOrigin,
    );
  }
  const checkpointKeyName = optional(env, 'CHECKPOINT_KEY_NAME') ?? checkpointOrigin;
  if (!isKeyName(checkpointKeyName)) {
    throw new ConfigError('CHECKPOINT_KEY_NAME', 'must be non-empty, without spaces or "+"', checkpointKeyName);
  }
  const dataDir = optional(env, 'LEDGER_DATA_DIR') ?? './.ledger-data';
  const jwksUrl = optional(env, 'JWT_JWKS_URL');
  const externalIssuer = optional(env, 'JWT_EXTERNAL_ISSUER');
  const externalAudience = optional(env, 'JWT_EXTERNAL_AUDIENCE');
  const externalSet = [jwksUrl, externalIssuer, externalAudience].filter((v) => v !== undefined).length;
  if (externalSet !== 0 && externalSet !== 3) {
    throw new ConfigError(
      'JWT_JWKS_URL',
      'JWT_JWKS_URL, JWT_EXTERNAL_ISSUER and JWT_EXTERNAL_AUDIENCE go together',
      undefined,
    );
  }
  if (jwksUrl !== undefined && !/^https?:\/\/\S+$/.test(jwksUrl)) {
    throw new ConfigError('JWT_JWKS_URL', 'must be an http:// or https:// URL', jwksUrl);
  }
  if (externalIssuer !== undefined && externalIssuer === (optional(env, 'JWT_ISSUER') ?? 'ledger-service')) {
    throw new ConfigError('JWT_EXTERNAL_ISSUER', "must differ from the service's own JWT_ISSUER", externalIssuer);
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    databaseUrl,
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(process.cwd(), dataDir),
    embeddedPgPort: integer(env, 'EMBEDDED_PG_PORT', 54329, 1024, 65535),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 200),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 10_000, 100, 600_000),
    jwtSecret,
    jwtIssuer: optional(env, 'JWT_ISSUER') ?? 'ledger-service',
    jwtAudience: optional(env, 'JWT_AUDIENCE') ?? 'ledger-api',
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 900, 1, 86_400),
    external:
      jwksUrl === undefined
        ? undefined
        : {
            jwksUrl,
            issuer: externalIssuer!,
            audience: externalAudience!,
            rolesClaim: optional(env, 'JWT_ROLES_CLAIM') ?? 'roles',
            ledgersClaim: optional(env, 'JWT_LEDGERS_CLAIM') ?? 'ledgers',
            jwksCooldownMs: integer(env, 'JWT_JWKS_COOLDOWN_MS', 30_000, 100, 3_600_000),
          },
    loginRateLimit: integer(env, 'LOGIN_RATE_LIMIT', 10, 1, 100_000),
    loginRateWindowSeconds: integer(env, 'LOGIN_RATE_WINDOW_SECONDS', 60, 1, 86_400),
    adminUsername,
    adminPassword,
    logLevel: logLevel as Config['logLevel'],
    checkpointSigningKey,
    checkpointOrigin,
    checkpointKeyName,
    checkpointIntervalSeconds: integer(env, 'CHECKPOINT_INTERVAL_SECONDS', 60, 1, 86_400),
    treeIntervalMs: integer(env, 'TREE_INTERVAL_MS', 1000, 50, 600_000),
    webhookAllowPrivate: flag(env, 'WEBHOOK_ALLOW_PRIVATE'),
    webhookRetryBaseSeconds: decimal(env, 'WEBHOOK_RETRY_BASE_SECONDS', 5, 0.01, 3600),
    webhookRetryWindowSeconds: integer(env, 'WEBHOOK_RETRY_WINDOW_SECONDS', 86_400, 1, 30 * 86_400),
    appName: optional(env, 'DB_APPLICATION_NAME') ?? 'ledger-service',
    inFlightBodyBytes: integer(env, 'IN_FLIGHT_BODY_BYTES', 8 * 1024 * 1024, 1024 * 1024, 1024 * 1024 * 1024),
    prettyLogs: stdout.isTTY === true,
  };
}

/** `true` or `false` (unset: false); anything else is a mistake worth refusing to start over. */
function flag(env: Env, name: string): boolean {
  const value = optional(env, name);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ConfigError(name, 'must be true or false', value);
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A number of seconds that may have a fraction (tests shorten waits below a second). */
function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a number from ${min} to ${max}`, raw);
  }
  return Number(raw);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`, raw);
  }
  return Number(raw);
}

function isEd25519PrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
