import { Module } from '@nestjs/common';
import { LedgersModule } from '../ledgers/ledgers.module.js';
import { ExpirySweeper } from './expiry-sweeper.js';
import { TransfersController } from './transfers.controller.js';
import { TransfersService } from './transfers.service.js';

@Module({ imports: [LedgersModule], controllers: [TransfersController], providers: [TransfersService, ExpirySweeper] })
export class TransfersModule {}
