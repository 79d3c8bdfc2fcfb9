import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Role } from '../auth/roles.decorator.js';
import { decodeCursor, type Page, toPage } from '../common/pagination.js';
import { CONFIG, type Config } from '../config/config.js';
import { LedgerError } from '../core/errors.js';
import type { Outcome } from '../writes/idempotency.js';
import { SYSTEM_REQUEST, type WriteRequest } from '../writes/write-request.js';
import { Writes } from '../writes/writes.js';
import { ledgerIdsIn } from '../ledgers/ledger-rows.js';
import { hashPassword } from './passwords.js';
import type { CreateUserDto, UpdateUserDto, UserView } from './users.dto.js';

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: Role[];
  ledgers: string[] | null;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  password_changed_at: Date | null;
}

const COLUMNS = 'id, username, password_hash, roles, ledgers, disabled, created_at, updated_at, password_changed_at';

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    private readonly writes: Writes,
  ) {}

  /** Hashed before the write: Argon2 is deliberately slow and must not hold the writers' transaction. */
  async create(dto: CreateUserDto, w: WriteRequest): Promise<Outcome<UserView>> {
    const passwordHash = await hashPassword(dto.password);
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const ledgers = await ledgerIdsIn(tx, dto.ledgers ?? null);
        const [row] = await tx.query<UserRow>(
          `INSERT INTO users (id, username, username_key, password_hash, roles, ledgers)
           VALUES ($1, $2, lower($2), $3, $4, $5) ON CONFLICT (username_key) DO NOTHING RETURNING ${COLUMNS}`,
          [randomUUID(), dto.username, passwordHash, dto.roles, ledgers],
        );
        if (row === undefined) throw new LedgerError('USERNAME_TAKEN', `username ${dto.username} is taken`);
        const after = view(row);
        log({ action: 'user.created', resourceId: row.id, ledgerId: null, before: null, after });
        return after;
      },
    });
  }

  async list(limit: number, cursor: string | undefined): Promise<Page<UserView>> {
    const after = decodeCursor(cursor, ['time', 'uuid']);
    const rows = await this.db.query<UserRow[]>(
      `SELECT ${COLUMNS} FROM users WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid))
       ORDER BY created_at, id LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
    return toPage(rows, limit, view, (r) => [r.created_at.toISOString(), r.id]);
  }

  async get(id: string): Promise<UserView> {
    return view(await this.find(id));
  }

  async update(id: string, dto: UpdateUserDto, w: WriteRequest): Promise<Outcome<UserView>> {
    const passwordHash = dto.password === undefined ? null : await hashPassword(dto.password);
    return this.writes.submit(w, {
      logged: true,
      run: async (tx, log) => {
        const [before] = await tx.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id]);
        if (before === undefined) throw new LedgerError('NOT_FOUND', `user ${id} does not exist`);
        // Absent leaves the ledgers as they are; null lifts the limit.
        const ledgers = dto.ledgers === undefined ? undefined : await ledgerIdsIn(tx, dto.ledgers);
        // A new password shows in the log as the time it changed, never as itself or its hash.
        const [updated] = await tx.query<UserRow>(
          `UPDATE users SET roles = COALESCE($2, roles), disabled = COALESCE($3, disabled),
             password_hash = COALESCE($4, password_hash),
             password_changed_at = CASE WHEN $4::text IS NULL THEN password_changed_at ELSE now() END,
             ledgers = CASE WHEN $5 THEN $6::uuid[] ELSE ledgers END, updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, dto.roles ?? null, dto.disabled ?? null, passwordHash, ledgers !== undefined, ledgers ?? null],
        );
        const after = view(updated!);
        log({ action: 'user.updated', resourceId: id, ledgerId: null, before: view(before), after });
        return after;
      },
    });
  }

  async find(id: string): Promise<UserRow> {
    const [row] = await this.db.query<UserRow[]>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    if (row === undefined) throw new LedgerError('NOT_FOUND', `user ${id} does not exist`);
    return row;
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const [row] = await this.db.query<UserRow[]>(`SELECT ${COLUMNS} FROM users WHERE username_key = lower($1)`, [
      username,
    ]);
    return row;
  }

  /** The first admin: from ADMIN_USERNAME / ADMIN_PASSWORD, or generated into the data directory. */
  async onApplicationBootstrap(): Promise<void> {
    const { adminUsername, adminPassword } = this.config;
    if (adminUsername !== undefined && adminPassword !== undefined) {
      if ((await this.findByUsername(adminUsername)) === undefined) {
        await this.insertAdmin(adminUsername, adminPassword);
        this.logger.log(`created the bootstrap admin ${adminUsername}`);
      }
      return;
    }
    const [{ count }] = await this.db.query<[{ count: number }]>(
      `SELECT count(*)::int AS count FROM users WHERE 'admin' = ANY(roles)`,
    );
    if (count > 0) return;
    const password = randomBytes(18).toString('base64url');
    const file = join(this.config.dataDir, 'admin-credentials');
    if (await this.insertAdmin('admin', password)) {
      await mkdir(this.config.dataDir, { recursive: true });
      await writeFile(file, `username=admin\npassword=${password}\n`, { mode: 0o600 });
      this.logger.log(`created an admin; its credentials are in ${file}`);
    }
  }

  /** Whether this instance created it: several instances may start at once, and only one does. */
  private async insertAdmin(username: string, password: string): Promise<boolean> {
    const passwordHash = await hashPassword(password);
    const outcome = await this.writes.submit(SYSTEM_REQUEST, {
      logged: true,
      run: async (tx, log) => {
        const [row] = await tx.query<UserRow>(
          `INSERT INTO users (id, username, username_key, password_hash, roles) VALUES ($1, $2, lower($2), $3, '{admin}')
           ON CONFLICT (username_key) DO NOTHING RETURNING ${COLUMNS}`,
          [randomUUID(), username, passwordHash],
        );
        if (row === undefined) return false;
        log({ action: 'user.created', resourceId: row.id, ledgerId: null, before: null, after: view(row) });
        return true;
      },
    });
    return 'value' in outcome && outcome.value;
  }
}

export function view(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    roles: row.roles,
    ledgers: row.ledgers,
    disabled: row.disabled,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    passwordChangedAt: row.password_changed_at?.toISOString() ?? null,
  };
}
