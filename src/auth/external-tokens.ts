import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import { CONFIG, type Config } from '../config/config.js';
import { LedgerLookup } from '../ledgers/ledger-lookup.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { type Role, ROLES } from './roles.decorator.js';

/** What the provider may sign with: asymmetric only, so its public keys can never serve as an HMAC secret. */
const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

/**
 * Tokens of the company's identity provider (SPEC 10), verified with jose against the provider's JWKS. jose, not
 * passport-jwt: passport-jwt verifies with jsonwebtoken, which has no EdDSA, and jose's remote key set already
 * does what the SPEC asks of key handling: the key chosen by `kid` and checked against the token's algorithm
 * (a kid of another key type is refused), the set fetched again on an unknown `kid` at most once per cooldown,
 * and the keys it holds kept while the provider is away (they never expire here: `cacheMaxAge` Infinity).
 */
@Injectable()
export class ExternalTokens {
  private readonly settings: Config['external'];
  private readonly keys: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly lookup: LedgerLookup,
  ) {
    this.settings = config.external;
    this.keys =
      this.settings === undefined
        ? undefined
        : createRemoteJWKSet(new URL(this.settings.jwksUrl), {
            cooldownDuration: this.settings.jwksCooldownMs,
            cacheMaxAge: Infinity,
            timeoutDuration: 5000,
          });
  }

  /** Whether a bearer token says it comes from the provider: its `iss`, read without trusting it, only to route it. */
  claimsExternal(token: string): boolean {
    if (this.settings === undefined) return false;
    try {
      return decodeJwt(token).iss === this.settings.issuer;
    } catch {
      return false;
    }
  }

  /** The caller a provider's token stands for, or null when it does not verify. */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    if (this.settings === undefined || this.keys === undefined) return null;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys, {
        algorithms: ALGORITHMS,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['exp', 'iss', 'aud', 'sub'],
      }));
    } catch {
      return null;
    }
    const id = `${claims.iss}#${claims.sub}`;
    const name = typeof claims.preferred_username === 'string' ? claims.preferred_username : claims.sub!;
    return {
      kind: 'external',
      id,
      username: name,
      ownerId: uuidOf(`external\n${id}`),
      roles: rolesOf(claimAt(claims, this.settings.rolesClaim)),
      ledgers: await this.ledgersOf(claimAt(claims, this.settings.ledgersClaim)),
    };
  }

  /** Absent: every ledger. Ids or names, resolved to ids; a name that is no ledger limits to nothing more. */
  private async ledgersOf(claim: unknown): Promise<string[] | null> {
    if (claim === undefined) return null;
    // Present but not a list of names: deny by default, the caller sees no ledger.
    if (!Array.isArray(claim) || !claim.every((r) => typeof r === 'string')) return [];
    const ids = await Promise.all(claim.slice(0, 100).map((ref: string) => this.lookup.ofRef(ref)));
    return [...new Set(ids.filter((id): id is string => id !== undefined))].sort();
  }
}

/** A claim by a dotted path, as Keycloak nests realm roles (`realm_access.roles`). */
function claimAt(claims: JWTPayload, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Our roles among the claim's (a list, or space-separated as in OAuth scopes); unknown names are ignored. */
function rolesOf(claim: unknown): Role[] {
  const names = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
  return ROLES.filter((role) => names.includes(role));
}

/** A stable UUID for an outside identity, under which its Idempotency-Keys are kept. */
function uuidOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
