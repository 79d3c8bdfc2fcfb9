import { randomBytes } from 'node:crypto';
import { ADMIN, type TestApp } from './app.js';

export type Role = 'admin' | 'operator' | 'auditor';

export async function login(t: TestApp, username: string, password: string): Promise<string> {
  const res = await t.request('POST', '/v1/auth/token', { body: { username, password } });
  if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${res.text}`);
  return res.body.accessToken as string;
}

export const adminToken = (t: TestApp): Promise<string> => login(t, ADMIN.username, ADMIN.password);

/** Creates a user with the given roles through the API and returns its id and a fresh token. */
export async function userWith(
  t: TestApp,
  roles: Role[],
): Promise<{ id: string; username: string; password: string; token: string }> {
  const username = `${roles.join('-')}-${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await t.request('POST', '/v1/users', { token: await adminToken(t), body: { username, password, roles } });
  if (res.status !== 201) throw new Error(`user creation failed: ${res.status} ${res.text}`);
  return { id: res.body.id as string, username, password, token: await login(t, username, password) };
}

/** One token per role plus none, for permission tables. */
export async function tokensByRole(t: TestApp): Promise<Record<Role, string>> {
  return {
    admin: await adminToken(t),
    operator: (await userWith(t, ['operator'])).token,
    auditor: (await userWith(t, ['auditor'])).token,
  };
}

export interface ActorShown {
  type: 'user' | 'apiKey' | 'external' | 'system';
  id: string;
  name: string;
}

/** The actor a token's writes are recorded as: a user by its id and username (`GET /v1/auth/me`). */
export async function actorOf(t: TestApp, token: string): Promise<ActorShown> {
  const me = await t.request('GET', '/v1/auth/me', { token });
  if (me.status !== 200) throw new Error(`GET /v1/auth/me failed: ${me.status} ${me.text}`);
  return { type: 'user', id: me.body.id as string, name: me.body.username as string };
}

export const SYSTEM_ACTOR: ActorShown = { type: 'system', id: 'system', name: 'system' };
