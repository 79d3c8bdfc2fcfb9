import { Module } from '@nestjs/common';
import { LedgersModule } from '../ledgers/ledgers.module.js';
import { CategoriesController } from './categories.controller.js';
import { CategoriesService } from './categories.service.js';

@Module({ imports: [LedgersModule], controllers: [CategoriesController], providers: [CategoriesService] })
export class CategoriesModule {}
