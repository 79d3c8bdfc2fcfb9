import { Module } from '@nestjs/common';
import { ExpirySweeper } from './expiry-sweeper.js';
import { TransfersController } from './transfers.controller.js';
import { TransfersService } from './transfers.service.js';

@Module({ controllers: [TransfersController], providers: [TransfersService, ExpirySweeper] })
export class TransfersModule {}
