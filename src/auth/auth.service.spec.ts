import type { JwtService } from '@nestjs/jwt';
import { loadConfig } from '../config/config.js';
import { Problem } from '../http/problem.js';
import { hashPassword } from '../users/passwords.js';
import type { UserRow, UsersService } from '../users/users.service.js';
import type { LoginRefusals } from '../admin-log/login-refusals.js';
import { AuthService } from './auth.service.js';

const PASSWORD = 'the-right-password';

/** What the service answers, as status and Retry-After, instead of a token or a thrown Problem. */
async function outcome(attempt: Promise<unknown>): Promise<{ status: number; retryAfter?: string }> {
  try {
    await attempt;
    return { status: 200 };
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    return e.headers['retry-after'] === undefined
      ? { status: e.status }
      : { status: e.status, retryAfter: e.headers['retry-after'] };
  }
}

describe('AuthService login rate limits', () => {
  let passwordHash: string;
  beforeAll(async () => {
    passwordHash = await hashPassword(PASSWORD);
  });

  function service(limit: number): AuthService {
    const config = loadConfig({
      JWT_SECRET: 'unit-test-secret-that-is-at-least-32-bytes',
      LOGIN_RATE_LIMIT: String(limit),
      LOGIN_RATE_WINDOW_SECONDS: '60',
    });
    const users = {
      findByUsername: (username: string): Promise<UserRow | undefined> =>
        Promise.resolve(
          username.toLowerCase().startsWith('known')
            ? ({ id: 'id', username, password_hash: passwordHash, roles: ['operator'], disabled: false } as UserRow)
            : undefined,
        ),
    } as unknown as UsersService;
    const jwt = { signAsync: () => Promise.resolve('a.signed.token') } as unknown as JwtService;
    recorded = [];
    const refusals = {
      record: (kind: string, username: string, address: string) => recorded.push([kind, username, address]),
    } as unknown as LoginRefusals;
    return new AuthService(config, users, jwt, refusals);
  }
  /** What the service handed the administrative log, in order. */
  let recorded: string[][] = [];

  it('counts failed logins per username, whatever its case, and then refuses even the right password', async () => {
    const auth = service(2);
    expect(await outcome(auth.issueToken('known-bob', 'wrong', '10.0.0.1'))).toEqual({ status: 401 });
    expect(await outcome(auth.issueToken('KNOWN-BOB', 'wrong', '10.0.0.2'))).toEqual({ status: 401 });
    expect(await outcome(auth.issueToken('known-bob', PASSWORD, '10.0.0.3'))).toEqual({
      status: 429,
      retryAfter: '60',
    });
    expect(await outcome(auth.issueToken('known-alice', PASSWORD, '10.0.0.3'))).toEqual({ status: 200 });
    expect(recorded).toEqual([
      ['refused', 'known-bob', '10.0.0.1'],
      ['refused', 'KNOWN-BOB', '10.0.0.2'],
      ['rateLimited', 'known-bob', '10.0.0.3'],
    ]);
  });

  it('does not count successful logins against the username', async () => {
    const auth = service(2);
    for (let i = 0; i < 4; i++) {
      expect(await outcome(auth.issueToken('known-carol', PASSWORD, `10.0.1.${i}`))).toEqual({ status: 200 });
    }
  });

  it('allows five times the limit per client address, across usernames', async () => {
    const auth = service(1);
    for (let i = 0; i < 5; i++) {
      expect(await outcome(auth.issueToken(`unknown-${i}`, 'wrong', '10.0.2.1'))).toEqual({ status: 401 });
    }
    expect(await outcome(auth.issueToken('known-dave', PASSWORD, '10.0.2.1'))).toEqual({
      status: 429,
      retryAfter: '60',
    });
    expect(await outcome(auth.issueToken('known-dave', PASSWORD, '10.0.2.2'))).toEqual({ status: 200 });
  });
});
