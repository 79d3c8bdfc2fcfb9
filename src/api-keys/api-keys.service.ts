import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { Role } from '../auth/roles.decorator.js';
import { decodeCursor, type Page, type PageQuery, toPage } from '../common/pagination.js';
import { CONFIG, type Config } from '../config/config.js';
import { LedgerError } from '../core/errors.js';
import { ledgerIdsIn } from '../ledgers/ledger-rows.js';
import type { Outcome } from '../writes/idempotency.js';
import { type Actor, SYSTEM_REQUEST, type WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { apiKeyHasher, isApiKeyShaped, newApiKey } from './api-key-secret.js';
import type { ApiKeyView, CreateApiKeyDto, CreatedApiKeyView } from './api-keys.dto.js';

interface ApiKeyRow {
  id: string;
  seq: string;
  name: string;
  roles: Role[];
  ledgers: string[] | null;
  expires_at: Date | null;
  created_by: Actor;
  created_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = 'id, seq, name, roles, ledgers, expires_at, created_by, created_at, last_used_at';
// Bounds how long a revoked key keeps working on an instance (SPEC: within 5 seconds).
const CACHE_MS = 2000;
const MAX_CACHED = 10_000;
// lastUsedAt is a hint for people, not a log: written at most once a minute per key.
const LAST_USED_EVERY_MS = 60_000;

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly hash: (key: string) => string;
  /** By key hash: the key's row, or null for no usable key, until when that answer may be reused. */
  private readonly cache = new Map<string, { row: ApiKeyRow | null; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CONFIG) config: Config,
    private readonly writes: Writes,
  ) {
    this.hash = apiKeyHasher(config.jwtSecret!);
  }

  /** The key is made before the write and added to the fresh answer only: what is stored (a replay) has no key. */
  async create(dto: CreateApiKeyDto, w: WriteRequest): Promise<Outcome<CreatedApiKeyView | ApiKeyView>> {
    const key = newApiKey();
    const outcome = await this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const ledgers = await ledgerIdsIn(tx, dto.ledgers ?? null);
        const [row] = await tx.query<ApiKeyRow>(
          `INSERT INTO api_keys (id, name, key_hash, roles, ledgers, expires_at, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
          [randomUUID(), dto.name, this.hash(key), dto.roles, ledgers, dto.expiresAt ?? null, JSON.stringify(w.actor)],
        );
        const after = view(row!);
        log({ action: 'apiKey.created', resourceId: after.id, ledgerId: null, before: null, after });
        return after;
      },
    });
    // A new outcome, not a copy: the JSON stored under the key (without the secret) must not be what is sent.
    return 'value' in outcome && !outcome.replayed ? { value: { ...outcome.value, key }, replayed: false } : outcome;
  }

  async list(q: PageQuery): Promise<Page<ApiKeyView>> {
    const after = decodeCursor(q.cursor, ['seq'])?.[0] ?? null;
    const rows = await this.db.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys WHERE revoked_at IS NULL AND ($1::bigint IS NULL OR seq > $1::bigint)
       ORDER BY seq LIMIT $2`,
      [after, q.limit + 1],
    );
    return toPage(rows, q.limit, view, (r) => [r.seq]);
  }

  async get(id: string): Promise<ApiKeyView> {
    const [row] = await this.db.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    if (row === undefined) throw new LedgerError('NOT_FOUND', `API key ${id} does not exist`);
    return view(row);
  }

  /** A revoked key is kept (who made it, when) but is gone from the API and refused within CACHE_MS. */
  revoke(id: string, w: WriteRequest): Promise<Outcome<null>> {
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const [row] = await tx.query<ApiKeyRow>(
          `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
          [id],
        );
        if (row === undefined) throw new LedgerError('NOT_FOUND', `API key ${id} does not exist`);
        // Gone from the API once revoked, as a deleted resource is.
        log({ action: 'apiKey.revoked', resourceId: id, ledgerId: null, before: view(row), after: null });
        return null;
      },
    });
  }

  /** The caller a presented `lsk_` key stands for, or null when it is no key, revoked or expired. */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    if (!isApiKeyShaped(token)) return null;
    const hash = this.hash(token);
    const now = Date.now();
    let hit = this.cache.get(hash);
    if (hit === undefined || hit.until <= now) {
      const [row] = await this.db.query<ApiKeyRow[]>(
        `SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      hit = { row: row ?? null, until: now + CACHE_MS };
      this.cache.set(hash, hit);
    }
    const row = hit.row;
    if (row === null || (row.expires_at !== null && row.expires_at.getTime() <= now)) return null;
    this.touch(row, now);
    return { kind: 'apiKey', id: row.id, username: row.name, ownerId: row.id, roles: row.roles, ledgers: row.ledgers };
  }

  /** Records lastUsedAt through the write entrance, without making the request wait for it. */
  private touch(row: ApiKeyRow, now: number): void {
    const last = Math.max(row.last_used_at?.getTime() ?? 0, this.touched.get(row.id) ?? 0);
    if (now - last < LAST_USED_EVERY_MS) return;
    if (this.touched.size >= MAX_CACHED) this.touched.clear();
    this.touched.set(row.id, now);
    this.writes
      .submit(SYSTEM_REQUEST, {
        run: (tx) =>
          tx.query(
            `UPDATE api_keys SET last_used_at = now()
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
            [row.id],
          ),
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not record an API key as used'));
  }
}

function view(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles,
    ledgers: row.ledgers,
    expiresAt: row.expires_at?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}
