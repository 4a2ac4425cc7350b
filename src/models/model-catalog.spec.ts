import { loadConfig } from '../config/app-config';
import { AmbiguousModelNameError, ModelNotFoundError } from '../proxy-router/errors';
import { ModelCatalog } from './model-catalog';
import { NotConfiguredNodeAdapter } from '../proxy-router/not-configured.adapter';
import type { Bid, Model } from '../proxy-router/node.types';

const id = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

function aModel(n: number, overrides: Partial<Model> = {}): Model {
  return {
    id: id(n),
    name: `model-${n}`,
    owner: `0x${'1'.repeat(40)}`,
    createdAt: 1735689600 + n,
    tags: ['LLM'],
    modelType: 'LLM',
    isDeleted: false,
    fee: 0n,
    stake: 10n ** 20n,
    ...overrides,
  };
}

function aBid(n: number, deletedAt = 0): Bid {
  return { id: id(1000 + n), provider: `0x${'2'.repeat(40)}`, modelId: id(1), pricePerSecond: '100', createdAt: 1, deletedAt };
}

/** The adapter's two reads, answered from memory. */
class FakeMarketplace extends NotConfiguredNodeAdapter {
  listModelsCalls = 0;
  constructor(
    private readonly models: Model[],
    private readonly bids: Bid[] = [],
  ) {
    super();
  }
  override async listModels(): Promise<Model[]> {
    this.listModelsCalls++;
    return this.models;
  }
  override async listBids(): Promise<Bid[]> {
    return this.bids;
  }
}

const catalogOver = (market: FakeMarketplace, ttl = '60') => new ModelCatalog(market, loadConfig({ MODELS_CACHE_TTL_S: ttl }));

describe('ModelCatalog', () => {
  const market = new FakeMarketplace([
    aModel(1),
    aModel(2, { name: 'twin' }),
    aModel(3, { name: 'twin' }),
    aModel(4, { name: 'gone', isDeleted: true }),
    aModel(5, { name: 'twin', isDeleted: true }),
  ]);
  const catalog = catalogOver(market);

  it('lists live models only', async () => {
    expect((await catalog.list()).map((m) => m.id)).toEqual([id(1), id(2), id(3)]);
  });

  it('resolves a blockchain id in any case', async () => {
    await expect(catalog.resolve(id(1).toUpperCase().replace('0X', '0x'))).resolves.toMatchObject({ id: id(1) });
  });

  it('refuses unknown and deleted models with 404', async () => {
    await expect(catalog.resolve(id(99))).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(catalog.resolve(id(4))).rejects.toMatchObject({ status: 404, detail: 'Model not found' });
    await expect(catalog.resolve('gone')).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(catalog.resolve('MODEL-1')).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it('resolves an exact name, and calls a shared live name ambiguous (409)', async () => {
    await expect(catalog.resolve('model-1')).resolves.toMatchObject({ id: id(1) });
    await expect(catalog.resolve('twin')).rejects.toBeInstanceOf(AmbiguousModelNameError);
    await expect(catalog.resolve('twin')).rejects.toMatchObject({ status: 409, detail: 'ambiguous model name: use the blockchain id' });
  });

  it('serves from the cache within the TTL; TTL 0 reads every time', async () => {
    const cached = new FakeMarketplace([aModel(1)]);
    const withTtl = catalogOver(cached);
    await withTtl.list();
    await withTtl.resolve('model-1');
    expect(cached.listModelsCalls).toBe(1);
    const uncached = new FakeMarketplace([aModel(1)]);
    const noTtl = catalogOver(uncached, '0');
    await noTtl.list();
    await noTtl.list();
    expect(uncached.listModelsCalls).toBe(2);
  });

  it('leaves deleted bids out', async () => {
    const withBids = catalogOver(new FakeMarketplace([aModel(1)], [aBid(1), aBid(2, 1735690000), aBid(3)]));
    expect((await withBids.liveBids(id(1))).map((b) => b.id)).toEqual([id(1001), id(1003)]);
  });
});
