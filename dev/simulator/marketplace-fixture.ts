import { type Marketplace, isLiveBid } from './marketplace';

/** What tests need to know about the seeded marketplace (amounts as decimal strings). */
export interface MarketplaceFixture {
  wallet: string;
  providers: string[];
  /** Every model in registration order; `bidIds` includes deleted bids. */
  models: Array<{ id: string; name: string; isDeleted: boolean; modelType: string; bidIds: string[] }>;
  /** Live models, in registration order. */
  liveModelIds: string[];
  deletedModelId: string;
  /** A name two live models share (name resolution must call it ambiguous). */
  duplicateName: string;
  duplicateModelIds: string[];
  /** A live model with no bids: opening by it answers "no bids available". */
  modelWithoutBidsId: string;
  bids: Array<{ id: string; modelId: string; provider: string; pricePerSecond: string; isDeleted: boolean }>;
  liveBidIds: string[];
  deletedBidId: string;
}

function duplicateName(market: Marketplace): { name: string; ids: string[] } {
  const live = market.models.filter((model) => !model.isDeleted);
  const name = live.find((model, i) => live.findIndex((other) => other.name === model.name) !== i)?.name ?? '';
  return { name, ids: live.filter((model) => model.name === name).map((model) => model.id) };
}

export function describeMarketplace(market: Marketplace): MarketplaceFixture {
  const bidsOf = (modelId: string) => market.bids.filter((bid) => bid.modelId === modelId);
  const live = market.models.filter((model) => !model.isDeleted);
  const duplicate = duplicateName(market);
  return {
    wallet: market.wallet,
    providers: [...market.providers],
    models: market.models.map((m) => ({
      id: m.id,
      name: m.name,
      isDeleted: m.isDeleted,
      modelType: m.modelType,
      bidIds: bidsOf(m.id).map((b) => b.id),
    })),
    liveModelIds: live.map((model) => model.id),
    deletedModelId: market.models.find((model) => model.isDeleted)?.id ?? '',
    duplicateName: duplicate.name,
    duplicateModelIds: duplicate.ids,
    modelWithoutBidsId: live.find((model) => !bidsOf(model.id).some(isLiveBid))?.id ?? '',
    bids: market.bids.map((b) => ({
      id: b.id,
      modelId: b.modelId,
      provider: b.provider,
      pricePerSecond: b.pricePerSecond.toString(),
      isDeleted: !isLiveBid(b),
    })),
    liveBidIds: market.bids.filter(isLiveBid).map((bid) => bid.id),
    deletedBidId: market.bids.find((bid) => !isLiveBid(bid))?.id ?? '',
  };
}
