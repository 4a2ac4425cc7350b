/**
 * Limits and the edge (issue 7, docs/API.md §7): rate limits per API key and per user (user
 * tokens), on HTTP and on messages; shared by two instances through Redis, per instance
 * without it; failing open when Redis is unreachable. CORS_ORIGINS, the slow-client cut-off
 * (HTTP_HEADERS_TIMEOUT_MS) and TRUST_PROXY.
 *
 * Every gateway runs in-process on one fresh PostgreSQL database (started one after the
 * other: the first runs the migrations); the limited ones with RATE_LIMIT_PER_MIN=3. Limits
 * count in sliding windows (test/operations-budgets.e2e-spec.ts checks the boundary); each
 * limit test still starts well inside a one-minute window, with fresh keys.
 */
import { connect as connectTcp } from 'node:net';
import { Controller, Get, Module, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Simulator, startSimulator } from '../dev/simulator';
import { Public } from '../src/auth/decorators';
import { SessionGatewayError } from '../src/client/session-gateway.client';
import { bearer, client, type JsonResponse, oidcEnv, startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { SIMULATOR, someKeys, type TestKey, waitFor, aUserAccessToken } from './support/kit';
import { gatewayClient, type GatewayClientHandle } from './support/nats';
import { freePort } from './support/process';

jest.setTimeout(60_000);

const LIMIT = 3;
const WINDOW_MS = 60_000;

/** Where the client's address is visible: the gateway does not log it. */
@Public()
@Controller('probe')
class AddressProbeController {
  @Get('ip')
  ip(@Req() request: FastifyRequest): { ip: string; ips?: string[] } {
    return { ip: request.ip, ips: request.ips };
  }
}

@Module({ controllers: [AddressProbeController] })
class AddressProbeModule {}

/** If the current one-minute window ends within 5 s, waits for the next: a test's requests share one window. */
async function insideOneWindow(): Promise<void> {
  const into = Date.now() % WINDOW_MS;
  if (into > WINDOW_MS - 5_000) await new Promise((r) => setTimeout(r, WINDOW_MS - into + 50));
}

function expectRateLimited(res: JsonResponse): void {
  expect(res.status).toBe(429);
  const retryAfter = res.headers.get('retry-after');
  const detail = `Rate limit exceeded: try again in ${retryAfter} s`;
  expect(res.body).toEqual({ detail, error: { message: detail, type: 'rate_limit_error', param: null, code: 'rate_limited' } });
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  // Sliding window: a full minute, then until enough of it has slid out (limit 3: a third more).
  expect(Number(retryAfter)).toBeLessThanOrEqual(80);
}

function metricValue(text: string, line: RegExp): number {
  const match = line.exec(text);
  return match ? Number(match[1]) : NaN;
}

describe('rate limits and the edge (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  /** RATE_LIMIT_PER_MIN=3, no Redis, TCP messages, OIDC; no CORS, TRUST_PROXY false; the address probe. */
  let plain: TestApp;
  let plainTcpPort: number;

  const keysOf = async (app: TestApp, count: number): Promise<TestKey[]> => someKeys(app, count);
  const userToken = aUserAccessToken;

  const started: TestApp[] = [];
  const start = async (env: Record<string, string>, withProbe = false): Promise<TestApp> => {
    const app = await startTestApp(
      { DATABASE_URL: db.url, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MIN: String(LIMIT), SESSION_SWEEP_INTERVAL_S: '3600', ...env },
      withProbe ? { extraImports: [AddressProbeModule] } : {},
    );
    started.push(app);
    return app;
  };

  beforeAll(async () => {
    db = await createTestDatabase('ops_limits');
    sim = await startSimulator({ ...SIMULATOR, seed: 'ops-limits' });
    plainTcpPort = await freePort();
    plain = await start(
      {
        ...oidcEnv(),
        PROXY_ROUTER_URL: sim.url,
        PROXY_ROUTER_USERNAME: SIMULATOR.username,
        PROXY_ROUTER_PASSWORD: SIMULATOR.password,
        MICROSERVICE_HOST: '127.0.0.1',
        MICROSERVICE_PORT: String(plainTcpPort),
      },
      true,
    );
  });

  afterAll(async () => {
    for (const app of started.reverse()) await app.close();
    await sim?.stop();
    await db?.drop();
  });

  describe('rate limits', () => {
    it(`per API key: the ${LIMIT + 1}th session/model request is a 429 with Retry-After; another key, /health and /api/v1/auth/* are not limited`, async () => {
      const [a, b] = await keysOf(plain, 2);
      const call = client(plain.url);
      await insideOneWindow();
      const allowed = [
        await call('GET', '/api/v1/models', { auth: a.auth }),
        await call('GET', '/api/v1/session', { auth: a.auth }),
        await call('POST', '/api/v1/session/pingsession', { auth: a.auth }),
      ];
      expect(allowed.map((r) => r.status)).toEqual([200, 404, 200]);
      expectRateLimited(await call('GET', '/api/v1/session', { auth: a.auth }));
      expectRateLimited(await call('GET', '/api/v1/models', { auth: a.auth }));
      expectRateLimited(
        await call('POST', `/api/v1/session/modelsession?model_id=${sim.marketplace.liveModelIds[0]}`, {
          auth: a.auth,
          body: { sessionDuration: 600 },
        }),
      );
      expect(sim.counts().openModel ?? 0).toBe(0); // a refused create never reaches the node

      // Another key of the same process has its own budget.
      expect((await call('GET', '/api/v1/models', { auth: b.auth })).status).toBe(200);
      expect((await call('GET', '/api/v1/session', { auth: b.auth })).status).toBe(404);
      // Routes that are not limited: liveness, readiness, the key routes (here refused for an API key, but not with 429).
      for (let i = 0; i < LIMIT + 2; i++) {
        expect((await call('GET', '/health')).status).toBe(200);
        expect((await call('GET', '/health/ready')).status).toBe(200);
        expect((await call('GET', '/api/v1/auth/keys', { auth: a.auth })).status).toBe(403);
      }
    });

    it('per user for user tokens: two tokens of one user share a budget, another user has its own; /api/v1/auth/* is not limited', async () => {
      const [first, second, other] = await Promise.all([
        userToken('limits-user-a'),
        userToken('limits-user-a'),
        userToken('limits-user-b'),
      ]);
      expect(first).not.toBe(second);
      expect(first.split('.')).toHaveLength(3); // JWTs, verified against the issuer's JWKS
      const call = client(plain.url);
      await insideOneWindow();
      expect((await call('GET', '/api/v1/models', { auth: bearer(first) })).status).toBe(200);
      expect((await call('GET', '/api/v1/models', { auth: bearer(second) })).status).toBe(200);
      expect((await call('GET', '/api/v1/models', { auth: bearer(first) })).status).toBe(200);
      expectRateLimited(await call('GET', '/api/v1/models', { auth: bearer(second) }));
      expectRateLimited(await call('GET', '/api/v1/session', { auth: bearer(first) }));

      expect((await call('GET', '/api/v1/models', { auth: bearer(other) })).status).toBe(200);
      for (let i = 0; i < LIMIT + 2; i++) expect((await call('GET', '/api/v1/auth/keys', { auth: bearer(first) })).status).toBe(200);
      // The user's own API key is a subject of its own.
      const created = await call('POST', '/api/v1/auth/keys', { auth: bearer(first), body: {} });
      expect(created.status).toBe(201);
      expect((await call('GET', '/api/v1/models', { auth: bearer(created.body.key) })).status).toBe(200);
    });

    it('messages are limited too: over TCP the typed client gets SessionGatewayError 429 on the 4th call', async () => {
      const [key, other] = await keysOf(plain, 2);
      let typed: GatewayClientHandle | undefined;
      try {
        typed = await gatewayClient({ transport: 'tcp', host: '127.0.0.1', port: plainTcpPort, timeoutMs: 10_000 });
        await insideOneWindow();
        expect(Array.isArray((await typed.client.listModels(key.auth)).data)).toBe(true);
        for (let i = 1; i < LIMIT; i++) {
          await expect(typed.client.getSession(key.auth)).rejects.toMatchObject({ status: 404 });
        }
        const refused = await typed.client.getSession(key.auth).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(SessionGatewayError);
        expect(refused).toMatchObject({
          status: 429,
          detail: expect.stringMatching(/^Rate limit exceeded: try again in \d+ s$/),
          code: 'rate_limited',
        });
        await expect(typed.client.listModels(key.auth)).rejects.toMatchObject({ status: 429 });
        // HTTP and messages draw from one budget per key.
        expectRateLimited(await client(plain.url)('GET', '/api/v1/session', { auth: key.auth }));
        await expect(typed.client.getSession(other.auth)).rejects.toMatchObject({ status: 404 });
        const metrics = await (await fetch(`${plain.url}/metrics`)).text();
        expect(metricValue(metrics, /^gateway_rate_limited_total\{transport="rpc"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
      } finally {
        await typed?.close();
      }
    });

    it('shared across two instances through Redis: alternating requests, only 3 allowed in total; without Redis each instance counts alone', async () => {
      const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
      const one = await start(redis);
      const two = await start(redis);
      const [key] = await keysOf(one, 1); // a fresh key: a subject no other run has counted
      await insideOneWindow();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await client(i % 2 === 0 ? one.url : two.url)('GET', '/api/v1/session', { auth: key.auth })).status);
      expect(statuses).toEqual([404, 404, 404, 429, 429, 429]);
      for (const app of [one, two]) {
        const ready = await client(app.url)('GET', '/health/ready');
        expect(ready.body.components.redis).toEqual({ status: 'up' });
      }

      // Contrast: a second instance without REDIS_URL keeps its own count.
      const alone = await start({});
      const [other] = await keysOf(plain, 1);
      await insideOneWindow();
      const local: number[] = [];
      for (let i = 0; i < 8; i++)
        local.push((await client(i % 2 === 0 ? plain.url : alone.url)('GET', '/api/v1/session', { auth: other.auth })).status);
      expect(local).toEqual([404, 404, 404, 404, 404, 404, 429, 429]);
    });

    it('fails open when Redis is unreachable: nothing refused, readiness says redis down (still 200), metrics count the store errors', async () => {
      const closedPort = await freePort(); // nothing listens there
      const app = await start({ REDIS_URL: `redis://127.0.0.1:${closedPort}` });
      const [key] = await keysOf(app, 1);
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 4; i++) statuses.push((await client(app.url)('GET', '/api/v1/session', { auth: key.auth })).status);
      expect(statuses).toEqual(new Array(LIMIT + 4).fill(404));

      const ready = await client(app.url)('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok', components: { database: { status: 'up' }, redis: { status: 'down' } } });
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metricValue(metrics, /^gateway_rate_limit_store_errors_total (\d+)/m)).toBeGreaterThanOrEqual(LIMIT + 4);
      expect(metricValue(metrics, /^gateway_rate_limit_store_up (\d+)/m)).toBe(0);
      expect(metricValue(metrics, /^gateway_rate_limited_total\{transport="http"\} (\d+)/m)).toBeNaN();
    });
  });

  describe('the edge', () => {
    /** CORS_ORIGINS, TRUST_PROXY and a short header timeout, in one app. */
    let edge: TestApp;
    beforeAll(async () => {
      edge = await start({ CORS_ORIGINS: 'https://app.example', TRUST_PROXY: 'true', HTTP_HEADERS_TIMEOUT_MS: '500' }, true);
    });

    const preflight = (base: string, origin: string) =>
      fetch(`${base}/api/v1/session`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });

    it('CORS: an allowed origin gets allow-origin on the preflight and x-request-id exposed; another origin, or no CORS_ORIGINS, nothing', async () => {
      const allowed = await preflight(edge.url, 'https://app.example');
      expect(allowed.status).toBeLessThan(300);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('access-control-allow-methods')).toMatch(/GET/);
      const actual = await fetch(`${edge.url}/health`, { headers: { origin: 'https://app.example' } });
      expect(actual.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(
        actual.headers
          .get('access-control-expose-headers')
          ?.toLowerCase()
          .split(/\s*,\s*/),
      ).toEqual(expect.arrayContaining(['x-request-id', 'retry-after']));
      expect(actual.headers.get('x-request-id')).toBeTruthy();

      const evil = await preflight(edge.url, 'https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      const evilGet = await fetch(`${edge.url}/health`, { headers: { origin: 'https://evil.example' } });
      expect(evilGet.headers.get('access-control-allow-origin')).toBeNull();

      const none = await preflight(plain.url, 'https://app.example');
      expect(none.headers.get('access-control-allow-origin')).toBeNull();
      const noneGet = await fetch(`${plain.url}/health`, { headers: { origin: 'https://app.example' } });
      expect(noneGet.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('slow clients: a socket that sends part of a request line and then nothing is closed (within 2 s); a normal request meanwhile is answered', async () => {
      const { port } = new URL(edge.url);
      const socket = connectTcp({ host: '127.0.0.1', port: Number(port) });
      await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      socket.on('error', () => undefined); // a reset is a close too
      let closed = false;
      socket.once('close', () => (closed = true));
      socket.write('GET /heal');

      const normal = await fetch(`${edge.url}/health`);
      expect(normal.status).toBe(200);
      // Not refused on sight: still open when the normal request was answered, then closed by the server.
      expect(closed).toBe(false);
      await waitFor('the server to close the slow socket', () => closed, 2_000);
      socket.destroy();
      expect(received).not.toMatch(/^HTTP\/1\.1 200/);
      // The server is still healthy afterwards.
      expect((await fetch(`${edge.url}/health`)).status).toBe(200);
    });

    // Node checks header deadlines every connectionsCheckingInterval: the app sets it small.
    it('slow clients: a socket that trickles its headers (a byte every 200 ms) is cut off while still trickling', async () => {
      const { port } = new URL(edge.url);
      const socket = connectTcp({ host: '127.0.0.1', port: Number(port) });
      await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
      socket.on('error', () => undefined);
      let closed = false;
      socket.once('close', () => (closed = true));
      const request = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(100)}`;
      let written = 0;
      for (; written < 20 && !closed; written++) {
        socket.write(request[written]);
        await new Promise((r) => setTimeout(r, 200));
      }
      socket.destroy();
      // Cut off while still trickling: sending a byte now and then does not keep it open.
      expect(closed).toBe(true);
      expect(written).toBeLessThan(20);
    });

    it('TRUST_PROXY: with it, X-Forwarded-For is the client address; without it, ignored', async () => {
      const forwarded = { 'x-forwarded-for': '203.0.113.7' };
      const trusted = await client(edge.url)('GET', '/probe/ip', { headers: forwarded });
      expect(trusted.status).toBe(200);
      expect(trusted.body.ip).toBe('203.0.113.7');
      const ignored = await client(plain.url)('GET', '/probe/ip', { headers: forwarded });
      expect(ignored.body.ip).toBe('127.0.0.1');
      expect((await client(edge.url)('GET', '/probe/ip')).body.ip).toBe('127.0.0.1');
    });
  });
});
