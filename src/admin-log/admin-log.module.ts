import { Module } from '@nestjs/common';
import { AdminLogController } from './admin-log.controller.js';
import { AdminLogService } from './admin-log.service.js';
import { LoginRefusals } from './login-refusals.js';

/** Reading the administrative log, and recording refused logins; records are appended by the write entrance. */
@Module({ controllers: [AdminLogController], providers: [AdminLogService, LoginRefusals], exports: [LoginRefusals] })
export class AdminLogModule {}
