import { Module } from '@nestjs/common';
import { ProxyRouterModule } from '../proxy-router/proxy-router.module';
import { ModelCatalog } from './model-catalog';
import { ModelsController } from './models.controller';
import { ModelsMessages } from './models.messages';

/** The model catalog: cached live models and bids, name resolution, /api/v1/models. Its door is {@link ModelCatalog}. */
@Module({
  imports: [ProxyRouterModule],
  controllers: [ModelsController, ModelsMessages],
  providers: [ModelCatalog],
  exports: [ModelCatalog],
})
export class ModelsModule {}
