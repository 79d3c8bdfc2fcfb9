import { Module } from '@nestjs/common';
import { CheckpointsModule } from '../checkpoints/checkpoints.module.js';
import { AuditController } from './audit.controller.js';
import { AuditService } from './audit.service.js';

@Module({ imports: [CheckpointsModule], controllers: [AuditController], providers: [AuditService] })
export class AuditModule {}
