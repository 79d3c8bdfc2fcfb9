import { Module } from '@nestjs/common';
import { ExpirySweeper } from './expiry-sweeper.js';
import { TransferEngine } from './transfer-engine.js';
import { TransfersController } from './transfers.controller.js';
import { TransfersService } from './transfers.service.js';

@Module({ controllers: [TransfersController], providers: [TransfersService, TransferEngine, ExpirySweeper] })
export class TransfersModule {}
