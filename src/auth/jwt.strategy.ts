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

/** Tokens remembered after a full verification, at most this many (the map is emptied when full). */
const MAX_VERIFIED_TOKENS = 10_000;
const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly cache = new Map<string, { user: AuthenticatedUser | null; until: number }>();
  /** Exact token strings already verified (signature, algorithm, iss, aud, nbf): their subject and expiry. */
  private readonly verified = new Map<string, { sub: string; exp: number }>();

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: bearerToken,
      passReqToCallback: true,
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
  async validate(request: Parameters<typeof bearerToken>[0], claims: Claims): Promise<AuthenticatedUser | false> {
    // Our tokens name a user id; a forged subject that is no UUID is simply not a user (never a query error).
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || !UUID.test(claims.sub)) return false;
    const token = bearerToken(request);
    if (token !== null) {
      if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
      this.verified.set(token, { sub: claims.sub, exp: claims.exp });
    }
    const user = await this.lookup(claims.sub);
    return user ?? false;
  }

  /**
   * The user of a request whose token string was already verified, without verifying it again: the same
   * string under the same key verifies the same way, except for its expiry, checked here as jsonwebtoken
   * does. Undefined when the token is not known (then passport verifies it in full).
   */
  async fromVerifiedToken(request: Parameters<typeof bearerToken>[0]): Promise<AuthenticatedUser | false | undefined> {
    const token = bearerToken(request);
    const known = token === null ? undefined : this.verified.get(token);
    if (known === undefined) return undefined;
    if (Math.floor(Date.now() / 1000) >= known.exp) {
      this.verified.delete(token!);
      return undefined;
    }
    return (await this.lookup(known.sub)) ?? false;
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
    const user =
      row === undefined || row.disabled
        ? null
        : {
            kind: 'user' as const,
            id: row.id,
            username: row.username,
            ownerId: row.id,
            roles: row.roles,
            ledgers: row.ledgers,
          };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { user, until: now + USER_CACHE_MS });
    return user;
  }
}
