import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LoginRefusals } from '../admin-log/login-refusals.js';
import { CONFIG, type Config } from '../config/config.js';
import { Problem } from '../http/problem.js';
import { DUMMY_HASH, verifyPassword } from '../users/passwords.js';
import { UsersService } from '../users/users.service.js';
import type { TokenView } from './auth.dto.js';
import { JWT_ALGORITHM } from './jwt.strategy.js';
import { LoginRateLimiter } from './login-rate-limiter.js';

@Injectable()
export class AuthService {
  private readonly perUsername: LoginRateLimiter;
  private readonly perAddress: LoginRateLimiter;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly refusals: LoginRefusals,
  ) {
    const windowMs = config.loginRateWindowSeconds * 1000;
    this.perUsername = new LoginRateLimiter(config.loginRateLimit, windowMs);
    this.perAddress = new LoginRateLimiter(config.loginRateLimit * 5, windowMs);
  }

  async issueToken(username: string, password: string, address: string): Promise<TokenView> {
    const userKey = `u:${username.toLowerCase()}`;
    const addressKey = `a:${address}`;
    const wait = Math.max(this.perUsername.retryAfter(userKey), this.perAddress.retryAfter(addressKey));
    if (wait > 0) {
      this.refusals.record('rateLimited', username, address);
      throw new Problem(429, 'RATE_LIMITED', 'too many login attempts; retry later', { 'retry-after': String(wait) });
    }
    this.perAddress.hit(addressKey);
    const user = await this.users.findByUsername(username);
    // Unknown users are checked against a dummy hash so that the answer takes as long as a wrong password.
    const valid = await verifyPassword(user?.password_hash ?? (await DUMMY_HASH), password);
    if (user === undefined || !valid || user.disabled) {
      this.perUsername.hit(userKey);
      this.refusals.record('refused', username, address);
      throw new Problem(401, 'INVALID_CREDENTIALS', 'wrong username or password');
    }
    const accessToken = await this.jwt.signAsync(
      { sub: user.id, roles: user.roles },
      {
        algorithm: JWT_ALGORITHM,
        secret: this.config.jwtSecret!,
        expiresIn: this.config.jwtTtlSeconds,
        issuer: this.config.jwtIssuer,
        audience: this.config.jwtAudience,
      },
    );
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwtTtlSeconds };
  }
}
