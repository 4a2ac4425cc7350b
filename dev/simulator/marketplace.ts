import { createHash } from 'node:crypto';
import { UnknownEntityError } from './sim-error';

/** Model types the node reports (structs.ModelType). */
export type ModelType = 'LLM' | 'STT' | 'TTS' | 'EMBEDDING' | 'UNKNOWN';

export interface ModelRecord {
  id: string;
  ipfsCid: string;
  fee: bigint;
  stake: bigint;
  owner: string;
  name: string;
  tags: string[];
  createdAt: bigint;
  isDeleted: boolean;
  modelType: ModelType;
}

export interface BidRecord {
  id: string;
  provider: string;
  modelId: string;
  pricePerSecond: bigint;
  nonce: bigint;
  createdAt: bigint;
  /** 0 while the bid is live; the deletion time once deleted. */
  deletedAt: bigint;
}

export interface Marketplace {
  wallet: string;
  providers: string[];
  models: ModelRecord[];
  bids: BidRecord[];
}

interface ModelSeed {
  name: string;
  modelType: ModelType;
  tags: string[];
  bidCount: number;
  deleted?: boolean;
}

const LLM = (name: string, bidCount: number): ModelSeed => ({
  name,
  modelType: 'LLM',
  tags: ['LLM', 'chat'],
  bidCount,
});

/**
 * 25 models: more than two pages of the node's default page size (10). `qwen3-235b` is
 * registered twice (ambiguous name), `solar-pro` has no bids ("no bids available") and
 * `legacy-gpt-j` is deregistered (IsDeleted).
 */
const MODEL_SEEDS: ModelSeed[] = [
  LLM('llama-3.3-70b', 2),
  LLM('mistral-31-24b', 2),
  LLM('qwen3-235b', 1),
  LLM('qwen3-235b', 2),
  LLM('deepseek-r1', 3),
  LLM('gemma-3-27b', 1),
  LLM('hermes-3-405b', 2),
  LLM('phi-4', 1),
  LLM('codestral-22b', 1),
  LLM('llama-3.2-3b', 2),
  { name: 'nomic-embed-text', modelType: 'EMBEDDING', tags: ['embedding'], bidCount: 1 },
  { name: 'whisper-large-v3', modelType: 'STT', tags: ['stt', 'audio'], bidCount: 1 },
  { name: 'kokoro-tts', modelType: 'TTS', tags: ['tts', 'audio'], bidCount: 1 },
  LLM('mixtral-8x22b', 1),
  LLM('qwen2.5-coder-32b', 2),
  LLM('dolphin-3', 1),
  LLM('granite-3.1-8b', 1),
  LLM('olmo-2-13b', 1),
  LLM('venice-uncensored', 2),
  LLM('glm-4-32b', 1),
  LLM('internlm3-8b', 1),
  LLM('yi-1.5-34b', 1),
  LLM('command-r', 1),
  LLM('solar-pro', 0),
  { ...LLM('legacy-gpt-j', 0), deleted: true },
];

const PROVIDER_COUNT = 4;
/** 2025-01-01T00:00:00Z: registrations are spread over the hours after it. */
const GENESIS = 1735689600n;
const WEI = 10n ** 18n;

/** Deterministic 32-byte hex id for a label under a seed. */
export function seededHex(seed: string, label: string, bytes = 32): string {
  const digest = createHash('sha256').update(`${seed}:${label}`).digest('hex');
  return `0x${digest.slice(0, bytes * 2)}`;
}

function buildModel(seed: string, index: number, spec: ModelSeed, providers: string[]): ModelRecord {
  return {
    id: seededHex(seed, `model:${index}`),
    ipfsCid: seededHex(seed, `ipfs:${index}`),
    fee: BigInt(index % 3) * 10n ** 15n,
    // Model stakes are wei amounts far above 2^53, as on the real chain.
    stake: 100n * WEI + BigInt(index),
    owner: providers[index % providers.length],
    name: spec.name,
    tags: [...spec.tags],
    createdAt: GENESIS + BigInt(index) * 3600n,
    isDeleted: spec.deleted === true,
    modelType: spec.modelType,
  };
}

function buildBid(seed: string, model: ModelRecord, provider: string, nonce: bigint, slot: number): BidRecord {
  return {
    id: seededHex(seed, `bid:${model.id}:${provider}:${nonce}`),
    provider,
    modelId: model.id,
    // 1e11..~3e11 wei per second: a one-hour session stakes ~1e20 wei (see session-ledger).
    pricePerSecond: 100_000_000_000n + BigInt(slot) * 37_000_000_000n + (model.createdAt % 97n) * 1_000_000_000n,
    nonce,
    createdAt: model.createdAt + 600n + BigInt(slot) * 60n,
    deletedAt: 0n,
  };
}

function buildBids(seed: string, models: ModelRecord[], providers: string[]): BidRecord[] {
  const bids: BidRecord[] = [];
  models.forEach((model, index) => {
    for (let slot = 0; slot < MODEL_SEEDS[index].bidCount; slot += 1) {
      const provider = providers[(index + slot) % providers.length];
      const rebid = index === 0 && slot === 0;
      bids.push(buildBid(seed, model, provider, rebid ? 1n : 0n, slot));
    }
  });
  // The first model's first provider re-bid: its earlier bid (nonce 0) is deleted and is the
  // cheapest, so an open by model must skip it.
  const first = models[0];
  const deleted = buildBid(seed, first, providers[0], 0n, 0);
  deleted.pricePerSecond = 50_000_000_000n;
  deleted.createdAt = first.createdAt + 300n;
  deleted.deletedAt = first.createdAt + 500n;
  bids.splice(0, 0, deleted);
  return bids;
}

/** The seeded, in-memory marketplace; a fresh copy on every call (reset restores it). */
export function buildMarketplace(seed: string): Marketplace {
  const providers = Array.from({ length: PROVIDER_COUNT }, (_, i) => seededHex(seed, `provider:${i}`, 20));
  const models = MODEL_SEEDS.map((spec, index) => buildModel(seed, index, spec, providers));
  return {
    wallet: seededHex(seed, 'wallet', 20),
    providers,
    models,
    bids: buildBids(seed, models, providers),
  };
}

export function isLiveBid(bid: BidRecord): boolean {
  return bid.deletedAt === 0n;
}

/** One page as the node's paginated reads return it (order by registration). */
export interface Page {
  offset: number;
  limit: number;
  order: 'asc' | 'desc';
}

export function pageOf<T>(items: readonly T[], page: Page): T[] {
  const ordered = page.order === 'desc' ? [...items].reverse() : [...items];
  return ordered.slice(page.offset, page.offset + page.limit);
}

/** A model's live bids, best (cheapest) first — the order the node tries providers in. */
export function liveBidsOf(market: Marketplace, modelId: string): BidRecord[] {
  return market.bids
    .filter((bid) => bid.modelId === modelId && isLiveBid(bid))
    .sort((a, b) => (a.pricePerSecond < b.pricePerSecond ? -1 : a.pricePerSecond > b.pricePerSecond ? 1 : 0));
}

/** Scores in (0, 1]: the cheapest live bid scores 1 (the node's rating favours price). */
export function ratedBidsOf(market: Marketplace, modelId: string): Array<{ bid: BidRecord; score: number }> {
  const live = liveBidsOf(market, modelId);
  if (live.length === 0) return [];
  const best = Number(live[0].pricePerSecond);
  return live.map((bid) => ({ bid, score: best / Number(bid.pricePerSecond) }));
}

/** The current marketplace; tests may delete models and bids, reset restores the seed. */
export class MarketplaceStore {
  private market: Marketplace;

  constructor(private readonly seed: string) {
    this.market = buildMarketplace(seed);
  }

  get current(): Marketplace {
    return this.market;
  }

  reset(): void {
    this.market = buildMarketplace(this.seed);
  }

  deleteBid(id: string, at: bigint): BidRecord {
    const bid = this.market.bids.find((candidate) => candidate.id === id.toLowerCase());
    if (!bid) throw new UnknownEntityError('bid', id);
    if (bid.deletedAt === 0n) bid.deletedAt = at;
    return bid;
  }

  /** A bid's price (wei per second; may exceed 2^53): opens on it stake accordingly. */
  setBidPrice(id: string, pricePerSecond: bigint): BidRecord {
    const bid = this.market.bids.find((candidate) => candidate.id === id.toLowerCase());
    if (!bid) throw new UnknownEntityError('bid', id);
    if (pricePerSecond < 0n) throw new RangeError('a price is non-negative');
    bid.pricePerSecond = pricePerSecond;
    return bid;
  }

  /** Deregistering a model deletes its bids too, as the contract requires. */
  deleteModel(id: string, at: bigint): ModelRecord {
    const model = this.market.models.find((candidate) => candidate.id === id.toLowerCase());
    if (!model) throw new UnknownEntityError('model', id);
    model.isDeleted = true;
    for (const bid of this.market.bids) {
      if (bid.modelId === model.id && bid.deletedAt === 0n) bid.deletedAt = at;
    }
    return model;
  }
}
