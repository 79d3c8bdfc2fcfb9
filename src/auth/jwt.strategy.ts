import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { CONFIG, type Config } from '../config/config.js';
import { LedgerError } from '../core/errors.js';
import { UsersService } from '../users/users.service.js';
import type { AuthenticatedUser } from './authenticated-user.js';

export const JWT_ALGORITHM = 'HS256';
// Bounds how long a disabled or deleted user's token keeps working (SPEC: within 5 seconds).
const USER_CACHE_MS = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Claims {
  sub?: unknown;
  exp?: unknown;
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly cache = new Map<string, { user: AuthenticatedUser | null; until: number }>();

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A KeyObject: given a string, jsonwebtoken first tries (and fails) to read it as a public key on every
      // verification, which profiling showed to cost more than the rest of the request. passport-jwt's types
      // only name string | Buffer, but it hands the key to jsonwebtoken untouched.
      secretOrKey: createSecretKey(Buffer.from(config.jwtSecret!, 'utf8')) as unknown as Buffer,
      algorithms: [JWT_ALGORITHM],
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ignoreExpiration: false,
    });
  }

  /** Signature, algorithm, exp, nbf, iss and aud are already verified; the user must still exist and be enabled. */
  async validate(claims: Claims): Promise<AuthenticatedUser | false> {
    // Our tokens name a user id; a forged subject that is no UUID is simply not a user (never a query error).
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || !UUID.test(claims.sub)) return false;
    const user = await this.lookup(claims.sub);
    return user ?? false;
  }

  private async lookup(id: string): Promise<AuthenticatedUser | null> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit !== undefined && hit.until > now) return hit.user;
    // Only "no such user" means the token is dead; a database failure must not look like a bad token (503).
    const row = await this.users.find(id).catch((error: unknown) => {
      if (error instanceof LedgerError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    const user = row === undefined || row.disabled ? null : { id: row.id, username: row.username, roles: row.roles };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { user, until: now + USER_CACHE_MS });
    return user;
  }
}
