import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn } from 'class-validator';

export const ROLES = ['admin', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLES_KEY = 'ledger:roles';
export const SCOPING_KEY = 'ledger:scoping';
export const PUBLIC_KEY = 'ledger:public';

/** The roles that may call a route. A route with neither this nor `@Public()` is refused for everyone. */
export const Roles = (...roles: [Role, ...Role[]]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/** Opts a route out of authentication (health, metrics, docs, the token endpoint). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/**
 * How a route is limited by the caller's ledgers (SPEC 9). Every route that names its roles names this too; the
 * guard refuses a route that does not, for everyone.
 * - `ledgers`: it reads or writes ledger data, and its service takes the caller's `LedgerScope` (`@Scope()`).
 * - `caller`: it only concerns the caller itself (`GET /v1/auth/me`).
 * - `unlimited`: it reaches across ledgers (users, creating a ledger), so a caller limited to some is refused (403).
 */
export type Scoping = 'ledgers' | 'caller' | 'unlimited';

export const Scoped = (scoping: Scoping): MethodDecorator & ClassDecorator => SetMetadata(SCOPING_KEY, scoping);

/** One or more distinct roles (of users, API keys). */
export const IsRoles = (): PropertyDecorator =>
  applyDecorators(IsArray(), ArrayMinSize(1), ArrayMaxSize(ROLES.length), ArrayUnique(), IsIn(ROLES, { each: true }));
