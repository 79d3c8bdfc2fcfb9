import { Module } from '@nestjs/common';
import { CheckpointsModule } from '../checkpoints/checkpoints.module.js';
import { LedgerLookup } from './ledger-lookup.js';
import { LedgersController } from './ledgers.controller.js';
import { LedgersService } from './ledgers.service.js';

@Module({
  imports: [CheckpointsModule],
  controllers: [LedgersController],
  providers: [LedgersService, LedgerLookup],
  exports: [LedgerLookup],
})
export class LedgersModule {}
