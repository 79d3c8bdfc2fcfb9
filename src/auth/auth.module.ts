import { AdminLogModule } from '../admin-log/admin-log.module.js';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { LedgersModule } from '../ledgers/ledgers.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { ExternalTokens } from './external-tokens.js';
import { JwtStrategy } from './jwt.strategy.js';

@Module({
  imports: [AdminLogModule, UsersModule, ApiKeysModule, LedgersModule, PassportModule, JwtModule.register({})],
  controllers: [AuthController],
  providers: [AuthService, JwtStrategy, ExternalTokens, { provide: APP_GUARD, useClass: AuthGuard }],
})
export class AuthModule {}
