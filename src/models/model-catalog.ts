import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AmbiguousModelNameError, ModelNotFoundError } from '../proxy-router/errors';
import { NodeAdapter } from '../proxy-router/node.adapter';
import type { Bid, Model } from '../proxy-router/node.types';
import { SingleFlightCache } from './single-flight-cache';

const BLOCKCHAIN_ID = /^0x[0-9a-f]{64}$/i;

/**
 * The marketplace's live models, cached for MODELS_CACHE_TTL_S, and name resolution
 * (docs/API.md §4) — what the models routes and the session module use.
 */
@Injectable()
export class ModelCatalog {
  private readonly models: SingleFlightCache<Model[]>;

  constructor(
    private readonly adapter: NodeAdapter,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.models = new SingleFlightCache(config.modelsCacheTtlS * 1000, async () =>
      (await this.adapter.listModels()).filter((model) => !model.isDeleted),
    );
  }

  /** Live models in the node's order. */
  list(): Promise<Model[]> {
    return this.models.get();
  }

  /**
   * A blockchain id (`0x` + 64 hex, any case) or an exact model name → the live model.
   * ModelNotFoundError (404) for an unknown or deleted model; AmbiguousModelNameError
   * (409) when several live models share the name.
   */
  async resolve(idOrName: string): Promise<Model> {
    const live = await this.list();
    if (BLOCKCHAIN_ID.test(idOrName)) {
      const id = idOrName.toLowerCase();
      const model = live.find((candidate) => candidate.id === id);
      if (!model) throw new ModelNotFoundError();
      return model;
    }
    const named = live.filter((candidate) => candidate.name === idOrName);
    if (named.length > 1) throw new AmbiguousModelNameError();
    if (named.length === 0) throw new ModelNotFoundError();
    return named[0];
  }

  /** The model's bids that are not deleted. */
  async liveBids(modelId: string): Promise<Bid[]> {
    return (await this.adapter.listBids(modelId)).filter((bid) => bid.deletedAt === 0);
  }
}
