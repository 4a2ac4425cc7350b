/**
 * Unauthenticated requests must not be amplified (issue 11): made-up opaque tokens, made-up
 * API keys and readiness probes each cost the identity provider, the database or the node a
 * bounded amount, counted where the cost lands (the identity provider's requests, the
 * gateway's SQL queries, the simulator's call counters).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { type Simulator, startSimulator } from '../dev/simulator';
import { MAX_INTROSPECTIONS_IN_FLIGHT, MAX_INTROSPECTIONS_QUEUED } from '../src/auth/strategies/oauth2.strategy';
import { bearer, startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { aForgedApiKey, SIMULATOR, waitFor } from './support/kit';

const CLIENT_ID = 'amplification-gateway';
const CLIENT_SECRET = 'amplification-secret-5b1e9c';

/**
 * An identity provider whose introspection answers only when the test says so: the test can
 * see how many introspections the gateway has in flight at once.
 */
class HeldIdentityProvider {
  readonly held: ServerResponse[] = [];
  introspections = 0;
  maxInFlight = 0;
  private holding = true;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers everything held, and from now on at once: every made-up token is inactive. */
  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) this.inactive(res);
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const json = (body: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      return json({
        issuer: this.url,
        jwks_uri: `${this.url}/jwks`,
        authorization_endpoint: `${this.url}/auth`,
        token_endpoint: `${this.url}/token`,
        introspection_endpoint: `${this.url}/introspect`,
      });
    }
    if (req.url === '/jwks') return json({ keys: [] });
    if (req.url !== '/introspect') return void res.writeHead(404).end();
    req.resume();
    this.introspections++;
    if (!this.holding) return this.inactive(res);
    this.held.push(res);
    this.maxInFlight = Math.max(this.maxInFlight, this.held.length);
  }

  private inactive(res: ServerResponse): void {
    void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: false }));
  }
}

describe('amplification of unauthenticated requests (e2e)', () => {
  let db: TestDatabase;
  let idp: HeldIdentityProvider;
  let sim: Simulator;
  let gateway: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('amplification');
    idp = new HeldIdentityProvider();
    await idp.start();
    sim = await startSimulator({ ...SIMULATOR, seed: 'amplification-e2e' });
    gateway = await startTestApp({
      DATABASE_URL: db.url,
      PROXY_ROUTER_URL: sim.url,
      PROXY_ROUTER_USERNAME: SIMULATOR.username,
      PROXY_ROUTER_PASSWORD: SIMULATOR.password,
      OIDC_ISSUER_URL: idp.url,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      SESSION_SWEEP_INTERVAL_S: '3600',
      LOG_LEVEL: 'warn',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await idp?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('made-up opaque tokens: at most 32 introspections in flight, a bounded queue, then 503 with Retry-After', async () => {
    const extra = 40;
    const total = MAX_INTROSPECTIONS_IN_FLIGHT + MAX_INTROSPECTIONS_QUEUED + extra;
    expect(MAX_INTROSPECTIONS_IN_FLIGHT).toBe(32);
    const answered: { status: number; retryAfter: string | null; body: unknown }[] = [];
    const requests = Array.from({ length: total }, async () => {
      const res = await fetch(`${gateway.url}/api/v1/auth/me`, {
        headers: { authorization: bearer(randomBytes(24).toString('base64url')) },
      });
      const entry = { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
      answered.push(entry);
      return entry;
    });

    // While the identity provider holds every introspection, the ones beyond the queue are refused at once.
    await waitFor(`${extra} answers while introspections are held`, () => answered.length >= extra, 20_000);
    await waitFor('the first introspections to arrive', () => idp.held.length >= MAX_INTROSPECTIONS_IN_FLIGHT, 20_000);
    expect(idp.held.length).toBe(MAX_INTROSPECTIONS_IN_FLIGHT);
    expect(answered).toHaveLength(extra);
    for (const busy of answered) {
      expect(busy).toEqual({
        status: 503,
        retryAfter: '1',
        body: expect.objectContaining({ detail: 'Too many token checks in progress: try again in 1 s' }),
      });
    }

    idp.release();
    const all = await Promise.all(requests);
    expect(all.filter((r) => r.status === 503)).toHaveLength(extra);
    expect(all.filter((r) => r.status === 401)).toHaveLength(total - extra);
    expect(idp.maxInFlight).toBe(MAX_INTROSPECTIONS_IN_FLIGHT);
    expect(idp.introspections).toBe(MAX_INTROSPECTIONS_IN_FLIGHT + MAX_INTROSPECTIONS_QUEUED);
  }, 60_000);

  it('one made-up opaque token sent 100 times at once costs one introspection', async () => {
    const before = idp.introspections;
    const token = randomBytes(24).toString('base64url');
    const statuses = await Promise.all(
      Array.from(
        { length: 100 },
        async () => (await fetch(`${gateway.url}/api/v1/auth/me`, { headers: { authorization: bearer(token) } })).status,
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(idp.introspections - before).toBe(1);
  });

  it('made-up API keys repeated after the key cache TTL (4 s) cost no more database queries', async () => {
    const dataSource = gateway.app.get(DataSource);
    const query = jest.spyOn(dataSource, 'query');
    const keyLookups = () => query.mock.calls.filter(([sql]) => /FROM api_keys k JOIN users/.test(sql)).length;
    try {
      const keys = Array.from({ length: 20 }, aForgedApiKey);
      const send = () =>
        Promise.all(
          keys.map(async (key) => (await fetch(`${gateway.url}/api/v1/models`, { headers: { authorization: bearer(key) } })).status),
        );
      expect(new Set(await send())).toEqual(new Set([401]));
      expect(keyLookups()).toBe(20);
      // Past the 4 s during which a looked-up prefix is reused anyway.
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      expect(new Set(await send())).toEqual(new Set([401]));
      expect(keyLookups()).toBe(20);
    } finally {
      query.mockRestore();
    }
  }, 30_000);

  it('50 concurrent readiness probes share one call to the node; a later probe calls it again', async () => {
    sim.control.resetCounts();
    sim.control.setLatency('health', 300);
    try {
      const probes = await Promise.all(Array.from({ length: 50 }, async () => (await fetch(`${gateway.url}/health/ready`)).status));
      expect(new Set(probes)).toEqual(new Set([200]));
      const calls = sim.counts().health;
      expect(calls).toBeGreaterThanOrEqual(1);
      expect(calls).toBeLessThanOrEqual(2);
    } finally {
      sim.control.setLatency('health', 0);
    }
    // Not cached for long: within a few seconds a probe reaches the node again.
    const before = sim.counts().health;
    await waitFor(
      'a fresh call to the node',
      async () => (await fetch(`${gateway.url}/health/ready`)).status === 200 && sim.counts().health > before,
      10_000,
      200,
    );
  });
});
