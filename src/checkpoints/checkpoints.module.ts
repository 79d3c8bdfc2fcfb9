import { Module } from '@nestjs/common';
import { CheckpointSigner } from './checkpoint-signer.js';
import { CheckpointsController } from './checkpoints.controller.js';
import { CheckpointsService } from './checkpoints.service.js';
import { TreeBuilder } from './tree-builder.js';

@Module({
  controllers: [CheckpointsController],
  providers: [CheckpointSigner, TreeBuilder, CheckpointsService],
  exports: [CheckpointSigner, TreeBuilder],
})
export class CheckpointsModule {}
