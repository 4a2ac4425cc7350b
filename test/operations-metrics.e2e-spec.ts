/**
 * `GET /metrics` (issue 7, docs/API.md §8): every series of the gateway with its labels, values
 * that move as requests happen (HTTP, proxy-router calls, opens, sessions, auth failures,
 * circuit state), the optional METRICS_TOKEN, and no secret in the output.
 *
 * The real app in-process on a fresh PostgreSQL database, talking to the simulator through
 * a relay that can take the node down. Rate limits through the local Redis (so the store's
 * gauge is present), low enough that one test can trip them.
 */
import type { DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type Simulator, startSimulator } from '../dev/simulator';
import { PROXY_ROUTER_OPTIONS } from '../src/proxy-router/proxy-router.module';
import type { ProxyRouterAdapterOptions } from '../src/proxy-router/proxy-router.adapter';
import { SessionSweeper } from '../src/session/session-sweeper';
import { bearer, client, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  aKey,
  gatewayEnv,
  type NodeRelay,
  openableModels,
  sessionApi,
  settleBackground,
  SIMULATOR,
  startGateway,
  startNodeRelay,
  type TestKey,
} from './support/kit';
import { signJwt, testIssuer } from './support/oidc';

jest.setTimeout(60_000);

const RATE_LIMIT = 5;
const METRICS_TOKEN = 'metrics-token-e2e-3b9d0c1f5a7e';

/** Two consecutive transport failures open the circuit; it stays open for the rest of the file. */
const smallBreaker: DynamicModule = {
  module: class SmallBreakerModule {},
  global: true,
  providers: [
    {
      provide: PROXY_ROUTER_OPTIONS,
      useValue: { breakerThreshold: 2, readRetries: 0, halfOpenAfterMs: 60_000 } satisfies ProxyRouterAdapterOptions,
    },
  ],
  exports: [PROXY_ROUTER_OPTIONS],
};

/** If the current one-minute rate-limit window ends within 5 s, waits for the next. */
async function insideOneWindow(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 55_000) await new Promise((r) => setTimeout(r, 60_000 - into + 50));
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function labelSetsOf(samples: Sample[], name: string): string[][] {
  return samples.filter((s) => s.name === name).map((s) => Object.keys(s.labels).sort());
}

describe('GET /metrics (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let relay: NodeRelay;
  let gateway: TestApp;
  let http: ReturnType<typeof sessionApi>;
  let call: ReturnType<typeof client>;
  let models: string[];
  /** Every credential this file sends: none may appear in /metrics. */
  const secrets = new Set<string>([SIMULATOR.password, testIssuer().clientSecret, METRICS_TOKEN]);

  /** A key whose secret the last test looks for in /metrics. */
  const aWatchedKey = async (): Promise<TestKey> => {
    const key = await aKey(gateway);
    secrets.add(key.key);
    return key;
  };
  const scrapeText = async (base = gateway.url, auth?: string): Promise<string> => {
    const res = await fetch(`${base}/metrics`, { headers: auth ? { authorization: auth } : {} });
    expect(res.status).toBe(200);
    return res.text();
  };
  const scrape = async (): Promise<Sample[]> => parseMetrics(await scrapeText());
  const sweep = async (): Promise<void> => {
    await gateway.app.get(SessionSweeper).sweep();
  };

  beforeAll(async () => {
    db = await createTestDatabase('ops_metrics');
    sim = await startSimulator({ ...SIMULATOR, seed: 'ops-metrics' });
    relay = await startNodeRelay(sim.url);
    gateway = await startGateway(
      gatewayEnv(db, relay, {
        MODELS_CACHE_TTL_S: '0', // every GET /api/v1/models asks the node: one listModels call each
        RATE_LIMIT_PER_MIN: String(RATE_LIMIT),
        REDIS_URL: 'redis://127.0.0.1:6379',
      }),
      { extraImports: [smallBreaker] },
    );
    await settleBackground(gateway);
    http = sessionApi(gateway.url);
    call = client(gateway.url);
    models = openableModels(sim);
  });

  afterAll(async () => {
    await gateway?.close();
    await relay?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('lists every series of docs/API.md §8 with its labels (Prometheus text)', async () => {
    const key = await aWatchedKey();
    expect((await http.get('/health')).status).toBe(200);
    expect((await call('GET', '/api/v1/models', { auth: key.auth })).status).toBe(200);
    expect((await http.createForModel(key, models[0])).status).toBe(200);
    expect((await call('GET', '/api/v1/models')).status).toBe(401);
    // Trip the limit of a fresh key (RATE_LIMIT_PER_MIN requests pass, the next is refused).
    const limited = await aWatchedKey();
    await insideOneWindow();
    const statuses: number[] = [];
    for (let i = 0; i <= RATE_LIMIT; i++) statuses.push((await http.current(limited)).status);
    expect(statuses.at(-1)).toBe(429);
    await sweep(); // counts gateway_sessions

    const res = await fetch(`${gateway.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const samples = parseMetrics(text);

    const expected: Record<string, { type: string; labels: string[] }> = {
      gateway_http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route', 'status'] },
      gateway_proxy_router_call_duration_seconds: { type: 'histogram', labels: ['operation', 'outcome'] },
      gateway_session_opens_total: { type: 'counter', labels: ['outcome'] },
      gateway_auth_failures_total: { type: 'counter', labels: ['reason', 'scheme'] },
      gateway_rate_limited_total: { type: 'counter', labels: ['transport'] },
      gateway_rate_limit_store_errors_total: { type: 'counter', labels: [] },
      gateway_sessions: { type: 'gauge', labels: ['status'] },
      gateway_proxy_router_circuit_state: { type: 'gauge', labels: [] },
      gateway_unmatched_wallet_sessions: { type: 'gauge', labels: [] },
      gateway_rate_limit_store_up: { type: 'gauge', labels: [] },
    };
    for (const [name, { type, labels }] of Object.entries(expected)) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}`);
      if (type === 'histogram') {
        expect(labelSetsOf(samples, `${name}_count`).length).toBeGreaterThan(0);
        for (const set of labelSetsOf(samples, `${name}_count`)) expect(set).toEqual(labels);
        for (const set of labelSetsOf(samples, `${name}_sum`)) expect(set).toEqual(labels);
        for (const set of labelSetsOf(samples, `${name}_bucket`)) expect(set).toEqual([...labels, 'le'].sort());
      } else {
        expect(labelSetsOf(samples, name).length).toBeGreaterThan(0);
        for (const set of labelSetsOf(samples, name)) expect(set).toEqual(labels);
      }
    }
    // Spot checks of label values: route patterns, never raw URLs.
    expect(
      valueOf(samples, 'gateway_http_request_duration_seconds_count', { method: 'GET', route: '/health', status: '200' }),
    ).toBeGreaterThan(0);
    expect(valueOf(samples, 'gateway_http_request_duration_seconds_count', { route: '/api/v1/session', status: '429' })).toBe(1);
    expect(valueOf(samples, 'gateway_rate_limited_total', { transport: 'http' })).toBe(1);
    expect(valueOf(samples, 'gateway_rate_limit_store_errors_total')).toBe(0);
    expect(valueOf(samples, 'gateway_rate_limit_store_up')).toBe(1);
    expect(valueOf(samples, 'gateway_proxy_router_circuit_state')).toBe(0);
    expect(valueOf(samples, 'gateway_unmatched_wallet_sessions')).toBe(0);
    // The default process metrics come along, under the gateway's prefix.
    const rss = samples.find((s) => /^gateway_process_.*resident_memory_bytes$/.test(s.name));
    expect(rss?.value).toBeGreaterThan(0);
  });

  it('GET /api/v1/models moves the HTTP histogram of its route and the listModels call count', async () => {
    const key = await aWatchedKey();
    const route = { method: 'GET', route: '/api/v1/models', status: '200' };
    const listed = { operation: 'listModels', outcome: 'ok' };
    const before = await scrape();
    expect((await call('GET', '/api/v1/models', { auth: key.auth })).status).toBe(200);
    const after = await scrape();

    const count = (s: Sample[]) => valueOf(s, 'gateway_http_request_duration_seconds_count', route);
    expect(count(after) - count(before)).toBe(1);
    const infBucket = (s: Sample[]) => valueOf(s, 'gateway_http_request_duration_seconds_bucket', { ...route, le: '+Inf' });
    expect(infBucket(after) - infBucket(before)).toBe(1);
    const sum = (s: Sample[]) => valueOf(s, 'gateway_http_request_duration_seconds_sum', route);
    expect(sum(after)).toBeGreaterThan(sum(before));

    const calls = (s: Sample[]) => valueOf(s, 'gateway_proxy_router_call_duration_seconds_count', listed);
    expect(calls(after) - calls(before)).toBe(1);
    // A raw URL with a parameter is labelled by its pattern.
    await call('GET', `/api/v1/models/${models[0]}/bids`, { auth: key.auth });
    const bids = await scrape();
    expect(
      valueOf(bids, 'gateway_http_request_duration_seconds_count', { route: '/api/v1/models/:model/bids', status: '200' }),
    ).toBeGreaterThan(0);
    expect(bids.some((s) => s.labels.route?.includes(models[0]))).toBe(false);
  });

  it('a create counts opened, the same create again reused; gateway_sessions follows the database', async () => {
    const key = await aWatchedKey();
    const opens = (s: Sample[], outcome: string) => valueOf(s, 'gateway_session_opens_total', { outcome });
    const before = await scrape();

    const first = await http.createForModel(key, models[1]);
    expect(first.status).toBe(200);
    expect(first.body.reused).toBe(false);
    const afterFirst = await scrape();
    expect(opens(afterFirst, 'opened') - opens(before, 'opened')).toBe(1);
    expect(opens(afterFirst, 'reused') - opens(before, 'reused')).toBe(0);

    const second = await http.createForModel(key, models[1]);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ reused: true, session_id: first.body.session_id });
    const afterSecond = await scrape();
    expect(opens(afterSecond, 'opened') - opens(afterFirst, 'opened')).toBe(0);
    expect(opens(afterSecond, 'reused') - opens(afterFirst, 'reused')).toBe(1);

    // The gauge is counted by the sweep, not by the scrape.
    await sweep();
    const afterSweep = await scrape();
    const rows = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM sessions GROUP BY status');
    const active = Number(rows.find((r) => r.status === 'active')?.n ?? 0);
    expect(active).toBeGreaterThanOrEqual(2); // this test's and the first test's
    expect(valueOf(afterSweep, 'gateway_sessions', { status: 'active' })).toBe(active);
    for (const row of rows) expect(valueOf(afterSweep, 'gateway_sessions', { status: row.status })).toBe(Number(row.n));

    // Closing moves it at the next sweep, not before.
    expect((await http.close(key)).status).toBe(200);
    expect(valueOf(await scrape(), 'gateway_sessions', { status: 'active' })).toBe(active);
    await sweep();
    expect(valueOf(await scrape(), 'gateway_sessions', { status: 'active' })).toBe(active - 1);
  });

  it('scrapes never query the sessions table (the sweep counts the gauge): 20 scrapes, 0 queries', async () => {
    const dataSource = gateway.app.get(DataSource);
    const queries: string[] = [];
    const logQuery = dataSource.logger.logQuery.bind(dataSource.logger);
    dataSource.logger.logQuery = (query, parameters, runner) => {
      queries.push(query);
      logQuery(query, parameters, runner);
    };
    try {
      for (let i = 0; i < 20; i++) expect(valueOf(await scrape(), 'gateway_sessions')).toBeGreaterThan(0);
      expect(queries.filter((q) => /\bsessions\b/i.test(q))).toEqual([]);
      // The counter sees the sweep's own count, so it would have seen a scrape's.
      await sweep();
      expect(queries.filter((q) => /FROM sessions GROUP BY status/i.test(q))).toHaveLength(1);
    } finally {
      dataSource.logger.logQuery = logQuery;
    }
  });

  it('refused credentials are counted by scheme and reason', async () => {
    const failures = (s: Sample[], scheme: string, reason: string) => valueOf(s, 'gateway_auth_failures_total', { scheme, reason });
    const unknownKey = `sk-Zq8mXw3T.${'A'.repeat(20)}unknownsecret${'b'.repeat(10)}`;
    const forged = await signJwt(
      testIssuer(),
      { sub: 'metrics-forger' },
      { header: { kid: testIssuer().privateJwk.kid }, key: new Uint8Array(32), alg: 'HS256' },
    );
    secrets.add(unknownKey).add(forged);
    const before = await scrape();

    expect((await call('GET', '/api/v1/session', { auth: bearer(unknownKey) })).status).toBe(401);
    expect((await call('GET', '/api/v1/session')).status).toBe(401);
    expect((await call('GET', '/api/v1/session')).status).toBe(401);
    expect((await call('GET', '/api/v1/session', { auth: bearer(forged) })).status).toBe(401);
    const after = await scrape();

    expect(failures(after, 'api-key', 'unknown_key') - failures(before, 'api-key', 'unknown_key')).toBe(1);
    expect(failures(after, 'none', 'missing') - failures(before, 'none', 'missing')).toBe(2);
    expect(failures(after, 'jwt', 'invalid_token') - failures(before, 'jwt', 'invalid_token')).toBe(1);
    expect(
      valueOf(after, 'gateway_http_request_duration_seconds_count', { route: '/api/v1/session', status: '401' }),
    ).toBeGreaterThanOrEqual(4);
  });

  it('no credential sent to the gateway appears in /metrics, not even one in an unmatched URL', async () => {
    const key = await aWatchedKey();
    const inPath = `sk-Pa7hSecr.${'x'.repeat(40)}`;
    secrets.add(inPath);
    await call('GET', `/api/v1/nothing-here/${encodeURIComponent(inPath)}?api_key=${encodeURIComponent(key.auth)}`);
    await call('GET', `/api/v1/session?token=${encodeURIComponent(key.auth)}`, { auth: key.auth });
    const text = await scrapeText();
    expect(parseMetrics(text).some((s) => s.name === 'gateway_http_request_duration_seconds_count' && s.labels.route === 'unmatched')).toBe(
      true,
    );
    expect(secrets.size).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      const tail = secret.split('.').at(-1)!;
      if (tail.length >= 16) expect(text).not.toContain(tail);
    }
  });

  // Last: the node is down from here on, and the circuit stays open (halfOpenAfterMs 60 s).
  it('the circuit state goes 0 → 2 once the node is down and calls fail; the failures are counted by outcome', async () => {
    const key = await aWatchedKey();
    const before = await scrape();
    expect(valueOf(before, 'gateway_proxy_router_circuit_state')).toBe(0);
    await relay.down();
    try {
      const answers: number[] = [];
      for (let i = 0; i < 3; i++) answers.push((await call('GET', '/api/v1/models', { auth: key.auth })).status);
      expect(answers).toEqual([503, 503, 503]);
      const after = await scrape();
      expect(valueOf(after, 'gateway_proxy_router_circuit_state')).toBe(2);
      const failed = (s: Sample[]) =>
        s
          .filter(
            (x) =>
              x.name === 'gateway_proxy_router_call_duration_seconds_count' &&
              x.labels.operation === 'listModels' &&
              x.labels.outcome !== 'ok',
          )
          .reduce((sum, x) => sum + x.value, 0);
      expect(failed(after) - failed(before)).toBe(3);
      const outcomes = new Set(
        after
          .filter((x) => x.name === 'gateway_proxy_router_call_duration_seconds_count' && x.labels.operation === 'listModels')
          .map((x) => x.labels.outcome),
      );
      // Every outcome is a stable code, never a message.
      for (const outcome of outcomes) expect(outcome).toMatch(/^[a-z_]+$/);
      expect(outcomes.size).toBeGreaterThanOrEqual(2);
      expect(valueOf(after, 'gateway_http_request_duration_seconds_count', { route: '/api/v1/models', status: '503' })).toBe(3);
    } finally {
      await relay.up();
    }
  });
});

describe('GET /metrics with METRICS_TOKEN (e2e)', () => {
  let db: TestDatabase;
  let gateway: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('ops_metrics_token');
    gateway = await startGateway({ DATABASE_URL: db.url, METRICS_TOKEN, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
  });

  const scrape = (authorization?: string) =>
    fetch(`${gateway.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });

  it('401 without the token, with a wrong one, or without the Bearer scheme; 200 with `Bearer <token>`', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token',
      `Bearer ${METRICS_TOKEN}x`,
      METRICS_TOKEN,
      `Basic ${METRICS_TOKEN}`,
      'Bearer ',
    ]) {
      const res = await scrape(authorization);
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
      const body = (await res.json()) as { detail: unknown };
      expect(typeof body.detail).toBe('string');
      expect(JSON.stringify(body)).not.toContain(METRICS_TOKEN);
    }
    const ok = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toContain('# TYPE gateway_http_request_duration_seconds histogram');
    expect(text).not.toContain(METRICS_TOKEN);
    // The refused scrapes were requests too: counted as 401s of the /metrics route.
    const refused = parseMetrics(text).filter(
      (s) => s.name === 'gateway_http_request_duration_seconds_count' && s.labels.route === '/metrics' && s.labels.status === '401',
    );
    expect(refused.reduce((sum, s) => sum + s.value, 0)).toBe(6);
    // Nothing else needs the token.
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });

  // prom-client's reset() would set a label-less gauge to 0: the series is registered only with Redis.
  it('without REDIS_URL there is no gateway_rate_limit_store_up sample', async () => {
    const text = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
    expect(text).not.toMatch(/^gateway_rate_limit_store_up /m);
  });
});
