import type { BidListResponseDto, ModelListResponseDto } from './dto/models.dto';
import type { Bid, Model } from '../proxy-router/node.types';

/** docs/API.md §4: the original gateway's OpenAI-style listing. */
export function presentModels(models: Model[]): ModelListResponseDto {
  return {
    object: 'list',
    data: models.map((model) => ({
      id: model.name,
      blockchainID: model.id,
      object: 'model',
      created: model.createdAt,
      owned_by: model.owner,
      tags: [...model.tags],
      modelType: model.modelType,
    })),
  };
}

export function presentBids(bids: Bid[]): BidListResponseDto {
  return {
    object: 'list',
    data: bids.map((bid) => ({ id: bid.id, provider: bid.provider, pricePerSecond: bid.pricePerSecond, createdAt: bid.createdAt })),
  };
}
