/**
 * The budgets that close the escapes of issue 11 (docs/API.md §7 "Rate limits"): a ceiling
 * per user across all of its keys and tokens (also shared through Redis), key creations per
 * user per hour (revoking gives none back), session opens per key (reuses do not count),
 * a user token counting as its default key, and sliding windows (no burst of twice a limit
 * at a window boundary: checked on the limiter with a clock the test moves, in memory and in
 * Redis, so no test waits for time to pass).
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { loadConfig } from '../src/config/app-config';
import { Metrics } from '../src/metrics/metrics';
import { type Budget, RateLimiter } from '../src/rate-limit/rate-limiter';
import { bearer, client, type JsonResponse, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { aKey, aKeyHolder, gatewayEnv, openableModels, sessionApi, SIMULATOR, startGateway, aUserAccessToken } from './support/kit';
import { gatewayClient } from './support/nats';
import { freePort } from './support/process';

jest.setTimeout(90_000);

const REDIS_URL = 'redis://127.0.0.1:6379';
const run = `${process.pid}-${Date.now()}`;

function expectRateLimited(res: JsonResponse): void {
  expect(res.status).toBe(429);
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  const detail = `Rate limit exceeded: try again in ${retryAfter} s`;
  expect(res.body).toEqual({ detail, error: { message: detail, type: 'rate_limit_error', param: null, code: 'rate_limited' } });
}

describe('rate-limit budgets (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  const started: TestApp[] = [];
  const start = async (env: Record<string, string>): Promise<TestApp> => {
    const app = await startGateway(gatewayEnv(db, sim, env));
    started.push(app);
    return app;
  };
  const userToken = aUserAccessToken;

  beforeAll(async () => {
    db = await createTestDatabase('ops_budgets');
    sim = await startSimulator({ ...SIMULATOR, seed: 'ops-budgets' });
  });

  afterAll(async () => {
    for (const app of started.reverse()) await app.close();
    await sim?.stop();
    await db?.drop();
  });

  describe('per user, per key', () => {
    let tight: TestApp;
    beforeAll(async () => {
      tight = await start({ RATE_LIMIT_PER_MIN: '3', USER_RATE_LIMIT_PER_MIN: '5' });
    });

    it('one user with many keys hits the user ceiling (5) though each key is under its own (3); another user is not affected', async () => {
      const holder = await aKeyHolder(tight);
      const keys = [await aKey(tight, { holder }), await aKey(tight, { holder }), await aKey(tight, { holder })];
      const call = client(tight.url);
      const statuses: number[] = [];
      for (let round = 0; round < 2; round++) {
        for (const key of keys) statuses.push((await call('GET', '/api/v1/models', { auth: key.auth })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expectRateLimited(await call('GET', '/api/v1/session', { auth: keys[0].auth }));
      // A fourth key made now is no way out.
      const fourth = await aKey(tight, { holder });
      expectRateLimited(await call('GET', '/api/v1/models', { auth: fourth.auth }));
      const stranger = await aKey(tight);
      expect((await call('GET', '/api/v1/models', { auth: stranger.auth })).status).toBe(200);
    });

    it('a user token counts as its default key: the key and the token share one per-key budget', async () => {
      const token = await userToken(`budgets-default-${run}`);
      const call = client(tight.url);
      const created = await call<{ key: string; is_default: boolean }>('POST', '/api/v1/auth/keys', { auth: bearer(token), body: {} });
      expect(created.status).toBe(201);
      expect(created.body.is_default).toBe(true);
      const key = bearer(created.body.key);
      expect((await call('GET', '/api/v1/models', { auth: key })).status).toBe(200);
      expect((await call('GET', '/api/v1/models', { auth: bearer(token) })).status).toBe(200);
      expect((await call('GET', '/api/v1/models', { auth: key })).status).toBe(200);
      // 3 on the default key's budget (the user has 2 more): the token is refused as the key is.
      expectRateLimited(await call('GET', '/api/v1/models', { auth: bearer(token) }));
      expectRateLimited(await call('GET', '/api/v1/models', { auth: key }));
      // Another key of the same user has a key budget of its own (the user's ceiling still has room).
      const second = await call<{ key: string }>('POST', '/api/v1/auth/keys', { auth: bearer(token), body: {} });
      expect((await call('GET', '/api/v1/models', { auth: bearer(second.body.key) })).status).toBe(200);
    });

    it('shared through Redis: one user ceiling across two instances', async () => {
      const one = await start({ RATE_LIMIT_PER_MIN: '3', USER_RATE_LIMIT_PER_MIN: '5', REDIS_URL });
      const two = await start({ RATE_LIMIT_PER_MIN: '3', USER_RATE_LIMIT_PER_MIN: '5', REDIS_URL });
      const holder = await aKeyHolder(one); // a fresh user: a subject no other run has counted
      const keys = [await aKey(one, { holder }), await aKey(one, { holder }), await aKey(one, { holder })];
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const app = i % 2 === 0 ? one : two;
        statuses.push((await client(app.url)('GET', '/api/v1/session', { auth: keys[i % 3].auth })).status);
      }
      expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
    });
  });

  describe('key creations and opens', () => {
    let app: TestApp;
    beforeAll(async () => {
      // The kit puts every limit out of reach; these two are the defaults again.
      app = await start({ KEY_CREATE_LIMIT_PER_HOUR: '20', OPEN_RATE_LIMIT_PER_MIN: '10' });
    });

    it('the 21st key creation in an hour is a 429, though create-and-revoke kept the active keys at one', async () => {
      const token = bearer(await userToken(`budgets-creator-${run}`));
      const call = client(app.url);
      for (let i = 0; i < 20; i++) {
        const created = await call<{ id: string }>('POST', '/api/v1/auth/keys', { auth: token, body: {} });
        expect(created.status).toBe(201);
        expect((await call('DELETE', `/api/v1/auth/keys/${created.body.id}`, { auth: token })).status).toBe(200);
      }
      expectRateLimited(await call('POST', '/api/v1/auth/keys', { auth: token, body: {} }));
      const listed = await call<unknown[]>('GET', '/api/v1/auth/keys', { auth: token });
      expect(listed.body).toHaveLength(20);
      // Another user's creations are their own.
      const other = bearer(await userToken(`budgets-other-creator-${run}`));
      expect((await call('POST', '/api/v1/auth/keys', { auth: other, body: {} })).status).toBe(201);
    });

    it('the 11th open in a minute for one key is a 429 (nothing sent to the node); reuses still answer 200', async () => {
      const [first, second] = openableModels(sim);
      const key = await aKey(app);
      const api = sessionApi(app.url);
      const opensBefore = sim.counts().openModel ?? 0;
      for (let i = 0; i < 10; i++) {
        const model = i % 2 === 0 ? first : second;
        const opened = await api.createForModel(key, model, { body: { sessionDuration: 600 } });
        expect(opened.status).toBe(200);
        // Reuses in between do not count.
        const reused = await api.createForModel(key, model, { body: { sessionDuration: 600 } });
        expect(reused.status).toBe(200);
        expect(reused.body.session_id).toBe(opened.body.session_id);
      }
      expect((sim.counts().openModel ?? 0) - opensBefore).toBe(10);
      // The key's current session is on `second`: `first` would be an open.
      expectRateLimited(await api.createForModel(key, first, { body: { sessionDuration: 600 } }));
      expect((sim.counts().openModel ?? 0) - opensBefore).toBe(10);
      const reused = await api.createForModel(key, second, { body: { sessionDuration: 600 } });
      expect(reused.status).toBe(200);
      // The refused open changed nothing: the session on `second` is still the key's.
      expect((await api.current(key)).body).toMatchObject({ session_id: reused.body.session_id });
      // Another key has its own opens.
      expect((await api.createForModel(await aKey(app), first, { body: { sessionDuration: 600 } })).status).toBe(200);
    });

    it('callers joining one open in flight count once', async () => {
      const [model] = openableModels(sim);
      const key = await aKey(app);
      const api = sessionApi(app.url);
      const together = await Promise.all(
        Array.from({ length: 12 }, () => api.createForModel(key, model, { body: { sessionDuration: 600 } })),
      );
      expect(together.map((r) => r.status)).toEqual(new Array(12).fill(200));
      expect(new Set(together.map((r) => r.body.session_id)).size).toBe(1);
    });
  });

  it('over messages too: the open over OPEN_RATE_LIMIT_PER_MIN is a 429 rate_limited for the typed client; a reuse is answered', async () => {
    const port = await freePort();
    const app = await start({ OPEN_RATE_LIMIT_PER_MIN: '2', MICROSERVICE_HOST: '127.0.0.1', MICROSERVICE_PORT: String(port) });
    const [first, second] = openableModels(sim);
    const key = await aKey(app);
    const typed = await gatewayClient({ transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 10_000 });
    try {
      const opened = await typed.client.createModelSession(key.auth, { model_id: first, sessionDuration: 600 });
      expect((await typed.client.createModelSession(key.auth, { model_id: first, sessionDuration: 600 })).session_id).toBe(
        opened.session_id,
      );
      const replacing = await typed.client.createModelSession(key.auth, { model_id: second, sessionDuration: 600 });
      await expect(typed.client.createModelSession(key.auth, { model_id: first, sessionDuration: 600 })).rejects.toMatchObject({
        status: 429,
        code: 'rate_limited',
        detail: expect.stringMatching(/^Rate limit exceeded: try again in \d+ s$/),
      });
      expect((await typed.client.createModelSession(key.auth, { model_id: second, sessionDuration: 600 })).session_id).toBe(
        replacing.session_id,
      );
    } finally {
      await typed.close();
    }
  });

  describe('sliding windows (the limiter, with a clock the test moves)', () => {
    const boundary = async (limiter: RateLimiter, clock: { now: number }, subject: string): Promise<number[]> => {
      const budget: Budget = { subject, limit: 3, windowMs: 60_000 };
      const allowed = async (times: number): Promise<number> => {
        let count = 0;
        for (let i = 0; i < times; i++) if ((await limiter.consume([budget])).allowed) count++;
        return count;
      };
      const base = Math.ceil(Date.now() / 60_000) * 60_000 + 600_000;
      const counts: number[] = [];
      clock.now = base + 59_000; // late in one window
      counts.push(await allowed(5));
      clock.now = base + 60_001; // just into the next: a fixed window would allow 3 more
      counts.push(await allowed(5));
      clock.now = base + 90_000; // half of the full window slid out
      counts.push(await allowed(5));
      clock.now = base + 200_000; // long after
      counts.push(await allowed(5));
      return counts;
    };

    it('in memory: no burst of twice the limit at a window boundary', async () => {
      const clock = { now: 0 };
      const limiter = new RateLimiter(loadConfig({}), new Metrics(), () => clock.now);
      expect(await boundary(limiter, clock, `key:boundary-${run}`)).toEqual([3, 0, 1, 3]);
    });

    it('in Redis: the same counts', async () => {
      const clock = { now: 0 };
      const limiter = new RateLimiter(loadConfig({ REDIS_URL }), new Metrics(), () => clock.now);
      try {
        await limiter.ready();
        expect(await boundary(limiter, clock, `key:boundary-redis-${run}`)).toEqual([3, 0, 1, 3]);
        expect(limiter.storeHealthy).toBe(true);
      } finally {
        await limiter.onApplicationShutdown();
      }
    });
  });
});
