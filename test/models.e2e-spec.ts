/**
 * The model routes end to end (docs/API.md §4): the real app on a fresh PostgreSQL database,
 * talking to the proxy-router simulator (basic auth on) over HTTP. The adapter pages the
 * node's listings by 10 here (a test-only option), so one listing is several node calls.
 */
import type { DynamicModule } from '@nestjs/common';
import { type Simulator, startSimulator } from '../dev/simulator';
import { PROXY_ROUTER_OPTIONS } from '../src/proxy-router/proxy-router.module';
import { client, type JsonResponse, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { aKey, errorBody, gatewayEnv, SIMULATOR, startGateway } from './support/kit';

jest.setTimeout(60_000);

const PAGE_SIZE = 10;
/** An error answer (docs/API.md §1). */
const UNKNOWN_ID = `0x${'cd'.repeat(32)}`;

interface ModelEntry {
  id: string;
  blockchainID: string;
  object: string;
  created: number;
  owned_by: string;
  tags: string[];
  modelType: string;
}
interface BidEntry {
  id: string;
  provider: string;
  pricePerSecond: string;
  createdAt: number;
}
interface List<T> {
  object: string;
  data: T[];
}

/** Global, so the provider module's factory sees it: pages of 10 instead of 255. */
const smallPages: DynamicModule = {
  module: class SmallPagesModule {},
  global: true,
  providers: [{ provide: PROXY_ROUTER_OPTIONS, useValue: { pageSize: PAGE_SIZE } }],
  exports: [PROXY_ROUTER_OPTIONS],
};

/** Every response any test received, for the secrets check at the end. */
const responses: string[] = [];
const apps: TestApp[] = [];

async function aGateway(db: TestDatabase, env: Record<string, string>): Promise<TestApp> {
  const app = await startGateway({ DATABASE_URL: db.url, ...env }, { extraImports: [smallPages] });
  apps.push(app);
  return app;
}

/** The gateway's own defaults (timeouts, no identity provider), every log line kept. */
const simulatorEnv = (db: TestDatabase, sim: Simulator): Record<string, string> =>
  gatewayEnv(db, sim, { MODELS_CACHE_TTL_S: '60', LOG_LEVEL: 'debug' }, { testSettings: false });

/** A client that records what it receives. */
function recordingClient(app: TestApp) {
  const call = client(app.url);
  return async <T>(path: string, auth?: string): Promise<JsonResponse<T>> => {
    const response = await call<T>('GET', path, { auth });
    responses.push(`${JSON.stringify([...response.headers])} ${JSON.stringify(response.body)}`);
    return response;
  };
}

describe('model routes (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let get: ReturnType<typeof recordingClient>;
  let auth: string;

  beforeAll(async () => {
    db = await createTestDatabase('models');
    sim = await startSimulator({ ...SIMULATOR, seed: 'models-e2e' });
    gateway = await aGateway(db, simulatorEnv(db, sim));
    get = recordingClient(gateway);
    auth = (await aKey(gateway)).auth;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sim?.stop();
    await db?.drop();
  });

  describe('GET /api/v1/models', () => {
    it('needs a credential', async () => {
      expect((await get('/api/v1/models')).status).toBe(401);
    });

    it("lists the node's live models, every page, in the fields of docs/API.md §4", async () => {
      const { status, body } = await get<List<ModelEntry>>('/api/v1/models', auth);
      expect(status).toBe(200);
      expect(body.object).toBe('list');
      const market = sim.marketplace;
      expect(market.models.length).toBeGreaterThan(2 * PAGE_SIZE);
      expect(body.data).toHaveLength(market.liveModelIds.length);
      expect(body.data.map((m) => m.blockchainID)).toEqual(market.liveModelIds);
      expect(body.data.map((m) => m.blockchainID)).not.toContain(market.deletedModelId);
      for (const entry of body.data) {
        const fixture = market.models.find((m) => m.id === entry.blockchainID)!;
        expect(Object.keys(entry).sort()).toEqual(['blockchainID', 'created', 'id', 'modelType', 'object', 'owned_by', 'tags']);
        expect(entry).toMatchObject({ id: fixture.name, object: 'model', modelType: fixture.modelType });
        expect(entry.blockchainID).toMatch(/^0x[0-9a-f]{64}$/);
        expect(entry.owned_by).toMatch(/^0x[0-9a-f]{40}$/);
        expect(Number.isSafeInteger(entry.created) && entry.created > 1_700_000_000).toBe(true);
        expect(entry.tags.length).toBeGreaterThan(0);
      }
    });

    it('is served from the cache afterwards', async () => {
      await get('/api/v1/models', auth);
      const before = sim.counts().models;
      await get('/api/v1/models', auth);
      expect(sim.counts().models).toBe(before);
    });
  });

  describe('GET /api/v1/models/{model}/bids', () => {
    const modelWithDeletedBid = () => sim.marketplace.models.find((m) => m.bidIds.includes(sim.marketplace.deletedBidId))!;
    const liveBidsOf = (modelId: string) => sim.marketplace.bids.filter((b) => b.modelId === modelId && !b.isDeleted);

    it('lists live bids by blockchain id (any case), the deleted one left out', async () => {
      const model = modelWithDeletedBid();
      const upper = `0x${model.id.slice(2).toUpperCase()}`;
      const { status, body } = await get<List<BidEntry>>(`/api/v1/models/${upper}/bids`, auth);
      expect(status).toBe(200);
      expect(body.object).toBe('list');
      expect(body.data.map((b) => b.id)).not.toContain(sim.marketplace.deletedBidId);
      expect(body.data.map((b) => b.id).sort()).toEqual(
        liveBidsOf(model.id)
          .map((b) => b.id)
          .sort(),
      );
      for (const bid of body.data) {
        const fixture = sim.marketplace.bids.find((b) => b.id === bid.id)!;
        expect(Object.keys(bid).sort()).toEqual(['createdAt', 'id', 'pricePerSecond', 'provider']);
        expect(bid).toMatchObject({ provider: fixture.provider, pricePerSecond: fixture.pricePerSecond });
        expect(bid.pricePerSecond).toMatch(/^\d+$/);
        expect(Number.isSafeInteger(bid.createdAt)).toBe(true);
      }
    });

    it('lists the same bids by (URL-encoded) name', async () => {
      const model = modelWithDeletedBid();
      const byId = await get<List<BidEntry>>(`/api/v1/models/${model.id}/bids`, auth);
      const byName = await get<List<BidEntry>>(`/api/v1/models/${encodeURIComponent(model.name)}/bids`, auth);
      expect(byName.status).toBe(200);
      expect(byName.body).toEqual(byId.body);
    });

    it('answers 409 for a name two live models share', async () => {
      const { status, body } = await get(`/api/v1/models/${encodeURIComponent(sim.marketplace.duplicateName)}/bids`, auth);
      expect(status).toBe(409);
      expect(body).toEqual(errorBody('ambiguous model name: use the blockchain id', 'invalid_request_error', 'ambiguous_model'));
    });

    it('answers 404 for an unknown id or name, and for a deleted model', async () => {
      for (const model of [UNKNOWN_ID, 'no-such-model', sim.marketplace.deletedModelId]) {
        const { status, body } = await get(`/api/v1/models/${encodeURIComponent(model)}/bids`, auth);
        expect(status).toBe(404);
        expect(body).toEqual(errorBody('Model not found', 'invalid_request_error', 'model_not_found'));
      }
    });
  });

  describe('OpenAPI', () => {
    type Operation = {
      security?: Array<Record<string, string[]>>;
      responses: Record<string, unknown>;
      parameters?: Array<{ name: string }>;
    };
    it('documents both routes with every scheme and their failure answers', async () => {
      const { body } = await get<{ paths: Record<string, { get: Operation }> }>('/api/v1/openapi.json');
      const list = body.paths['/api/v1/models'].get;
      const bids = body.paths['/api/v1/models/{model}/bids'].get;
      expect(Object.keys(list.responses).sort()).toEqual(['200', '401', '429', '502', '503', '504']);
      expect(Object.keys(bids.responses).sort()).toEqual(['200', '401', '404', '409', '429', '502', '503', '504']);
      expect(bids.parameters?.map((p) => p.name)).toContain('model');
      expect(list.security?.flatMap((s) => Object.keys(s))).toContain('APIKeyAuth');
    });
  });

  describe('GET /health/ready', () => {
    it('lists the proxy-router as up', async () => {
      const { status, body } = await get<{ components: Record<string, { status: string }> }>('/health/ready');
      expect(status).toBe(200);
      expect(body.components.proxy_router).toEqual({ status: 'up' });
    });
  });

  describe('with a cold cache', () => {
    let coldSim: Simulator;
    let cold: TestApp;
    let coldGet: ReturnType<typeof recordingClient>;

    beforeAll(async () => {
      coldSim = await startSimulator({ ...SIMULATOR, seed: 'models-e2e-cold' });
      cold = await aGateway(db, simulatorEnv(db, coldSim));
      coldGet = recordingClient(cold);
    });
    afterAll(() => coldSim.stop());

    it('100 concurrent requests make one upstream listing', async () => {
      // Slow enough that all 100 arrive while the first listing is in flight.
      coldSim.control.setLatency('models', 150);
      const pagesPerListing = Math.ceil((coldSim.marketplace.models.length + 1) / PAGE_SIZE);
      const answers = await Promise.all(Array.from({ length: 100 }, () => coldGet<List<ModelEntry>>('/api/v1/models', auth)));
      expect(answers.every((a) => a.status === 200 && a.body.data.length === coldSim.marketplace.liveModelIds.length)).toBe(true);
      expect(coldSim.counts().models).toBe(pagesPerListing); // 25 models by 10: one listing = 3 pages
    });

    it('readiness is 503 with the proxy-router down when the node stops', async () => {
      await coldSim.stop();
      const { status, body } = await coldGet<{ status: string; components: Record<string, { status: string; detail?: string }> }>(
        '/health/ready',
      );
      expect(status).toBe(503);
      expect(body.components.proxy_router).toEqual({ status: 'down', detail: 'proxy-router unreachable' });
      // Cached models still answer; an uncached read says why it cannot.
      expect((await coldGet('/api/v1/models', auth)).status).toBe(200);
      const bids = await coldGet(`/api/v1/models/${coldSim.marketplace.liveModelIds[0]}/bids`, auth);
      expect(bids).toMatchObject({ status: 503, body: errorBody('proxy-router unreachable', 'api_error', 'proxy_router_unavailable') });
    });
  });

  describe('without PROXY_ROUTER_URL', () => {
    let bare: TestApp;
    let bareGet: ReturnType<typeof recordingClient>;

    beforeAll(async () => {
      bare = await aGateway(db, {});
      bareGet = recordingClient(bare);
    });

    it('the routes answer 503 "proxy-router not configured"', async () => {
      for (const path of ['/api/v1/models', `/api/v1/models/${UNKNOWN_ID}/bids`, '/api/v1/models/llama/bids']) {
        const { status, body } = await bareGet(path, auth);
        expect(status).toBe(503);
        expect(body).toEqual(errorBody('proxy-router not configured', 'api_error', 'proxy_router_not_configured'));
      }
    });

    it('readiness lists it as not configured and stays ready', async () => {
      const { status, body } = await bareGet<{ components: Record<string, { status: string }> }>('/health/ready');
      expect(status).toBe(200);
      expect(body.components.proxy_router).toEqual({ status: 'not_configured' });
    });
  });

  // Last (declaration order): every app's logs and every response so far.
  describe('secrets', () => {
    it('no response and no log line holds the proxy-router password or a Basic header', () => {
      expect(responses.length).toBeGreaterThan(100);
      const logs = apps.map((app) => app.logs()).join('\n');
      expect(logs).toContain('"code":"proxy_router_unavailable"'); // the outage above was logged…
      for (const text of [logs, ...responses]) {
        expect(text).not.toContain(SIMULATOR.password); // …without the secrets
        expect(text).not.toMatch(/basic /i);
        expect(text).not.toContain(Buffer.from(`${SIMULATOR.username}:${SIMULATOR.password}`).toString('base64'));
      }
      expect(responses.join('\n')).not.toContain(sim.url);
    });
  });
});
