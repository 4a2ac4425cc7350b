/**
 * Every error the app can answer today, one of each status class, in the shape of
 * docs/API.md §1: `{"detail": …, "error": {"message","type","param","code"}}` with the
 * table's stable code and the OpenAI type of its status; over TCP the RPC error
 * `{"status","detail","code"}`. A 5xx is logged once, with its code and the request id.
 * The real app on a fresh PostgreSQL database, the simulator behind a relay that can take
 * the node down; faults come from the simulator's fault plan.
 */
import { connect } from 'node:net';
import { type Simulator, startSimulator } from '../dev/simulator';
import { SessionGatewayError } from '../src/client/session-gateway.client';
import { errorTypeFor } from '../src/common/api-error';
import { client, type JsonResponse, oidcEnv, startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  gatewayEnv,
  type NodeRelay,
  openableModels,
  sessionApi,
  type SessionApi,
  SIMULATOR,
  someKeys,
  startNodeRelay,
  type TestKey,
  waitFor,
  UNKNOWN_OUTCOME,
  errorBody,
} from './support/kit';
import { gatewayClient, type GatewayClientHandle } from './support/nats';
import { freePort } from './support/process';

jest.setTimeout(60_000);

const RATE_LIMIT = 4;

/** The whole body of a plain (non-422) error answer. */

/** The app's JSON log lines that name this request id. */
function linesOf(gateway: TestApp, requestId: string): { level: number; code?: string; msg: string }[] {
  return gateway
    .logs()
    .split('\n')
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as { level: number; code?: string; msg: string });
}

describe('error shapes (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let relay: NodeRelay;
  let gateway: TestApp;
  let typed: GatewayClientHandle | undefined;
  let port: number;
  let http: SessionApi;
  let call: ReturnType<typeof client>;
  let model: string;

  const aKey = async (): Promise<TestKey> => (await someKeys(gateway, 1))[0];
  const withId = (id: string) => ({ 'x-request-id': id });

  beforeAll(async () => {
    db = await createTestDatabase('error_shapes');
    sim = await startSimulator({ ...SIMULATOR, seed: 'error-shapes' });
    relay = await startNodeRelay(sim.url);
    port = await freePort();
    gateway = await startTestApp(
      gatewayEnv(db, relay, {
        ...oidcEnv(),
        LOG_LEVEL: 'info',
        RATE_LIMIT_PER_MIN: String(RATE_LIMIT),
        MICROSERVICE_HOST: '127.0.0.1',
        MICROSERVICE_PORT: String(port),
      }),
    );
    http = sessionApi(gateway.url);
    call = client(gateway.url);
    model = openableModels(sim)[0];
  });
  afterAll(async () => {
    await typed?.close();
    await gateway?.close();
    await relay?.stop();
    await sim?.stop();
    await db?.drop();
  });
  afterEach(() => {
    sim.control.plan.reset();
    sim.control.releaseHeld();
  });

  it('401: no credential → invalid_credentials, authentication_error, WWW-Authenticate', async () => {
    const res = await call('GET', '/api/v1/session');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual(errorBody('Not authenticated', 'authentication_error', 'invalid_credentials'));
  });

  it('403: an API key on a user-token route → user_token_required, permission_error', async () => {
    const res = await call('GET', '/api/v1/auth/me', { auth: (await aKey()).auth });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(
      errorBody(
        'API keys cannot manage keys: use an OAuth2 or JWT user token for /api/v1/auth/*',
        'permission_error',
        'user_token_required',
      ),
    );
  });

  it('404: no session, an unknown model, an unknown route — each with its code', async () => {
    const key = await aKey();
    expect(await http.current(key)).toMatchObject({
      status: 404,
      body: errorBody('No active session', 'invalid_request_error', 'no_session'),
    });
    expect(await http.createForModel(key, 'no-such-model')).toMatchObject({
      status: 404,
      body: errorBody('Model not found', 'invalid_request_error', 'model_not_found'),
    });
    expect(await call('GET', '/no/such/route')).toMatchObject({
      status: 404,
      body: errorBody('Not Found', 'invalid_request_error', 'unsupported_route'),
    });
  });

  it('409 while an open runs (session_opening), then 504 when its outcome is unknown (open_outcome_unknown), logged once', async () => {
    const key = await aKey();
    sim.control.hangNext('openModel');
    const opened = call('POST', `/api/v1/session/modelsession?model_id=${model}`, {
      auth: key.auth,
      body: {},
      headers: withId('shapes-504'),
    });
    await waitFor('the open to reach the node', () => sim.counts().openModel > 0);

    const ping = await http.ping(key);
    expect(ping.status).toBe(409);
    expect(ping.body).toEqual(
      errorBody(
        'A session is being opened for this API key: try again once it is recorded (GET /api/v1/session)',
        'invalid_request_error',
        'session_opening',
      ),
    );

    const unknown = await opened;
    expect(unknown.status).toBe(504);
    expect(unknown.body).toEqual(errorBody(UNKNOWN_OUTCOME, 'api_error', 'open_outcome_unknown'));
    const failures = linesOf(gateway, 'shapes-504').filter((line) => line.level >= 40);
    expect(failures).toEqual([
      expect.objectContaining({
        code: 'open_outcome_unknown',
        cause: 'open_outcome_unknown',
        reason: 'timeout',
        intent: expect.any(String),
        msg: 'request failed',
      }),
    ]);
  });

  it('413: a body over 64 KiB → body_too_large', async () => {
    const res = await call('POST', `/api/v1/session/modelsession?model_id=${model}`, {
      auth: (await aKey()).auth,
      body: { pad: 'x'.repeat(70 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual(errorBody('Request body too large (limit 64 KiB)', 'invalid_request_error', 'body_too_large'));
  });

  it("422: validation_error; the OpenAI message and param are the first issue's", async () => {
    const res = await http.createForModel(await aKey(), model, { body: { sessionDuration: 'abc' } });
    expect(res.status).toBe(422);
    const detail = [{ loc: ['body', 'sessionDuration'], msg: expect.any(String), type: 'int_parsing' }];
    expect(res.body).toEqual({
      detail,
      error: {
        message: (res.body as { detail: { msg: string }[] }).detail[0].msg,
        type: 'invalid_request_error',
        param: 'body.sessionDuration',
        code: 'validation_error',
      },
    });
  });

  it('429: over RATE_LIMIT_PER_MIN → rate_limited, rate_limit_error, Retry-After', async () => {
    const key = await aKey();
    let limited: JsonResponse | undefined;
    // Twice the limit: the fixed one-minute window may turn between two requests.
    for (let i = 0; i < 2 * (RATE_LIMIT + 1) && !limited; i++) {
      const res = await http.current(key);
      if (res.status === 429) limited = res;
    }
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    const detail = `Rate limit exceeded: try again in ${limited?.headers.get('retry-after')} s`;
    expect(limited?.body).toEqual(errorBody(detail, 'rate_limit_error', 'rate_limited'));
  });

  it('502: the node answers an open with an error → node_error, logged once with its code and request id', async () => {
    sim.control.failNext('openModel', { status: 500, error: 'simulated failure' });
    const res = await call('POST', `/api/v1/session/modelsession?model_id=${model}`, {
      auth: (await aKey()).auth,
      body: {},
      headers: withId('shapes-502'),
    });
    expect(res.status).toBe(502);
    expect(res.body).toEqual(errorBody('proxy-router could not open the session', 'api_error', 'node_error'));
    const lines = linesOf(gateway, 'shapes-502');
    expect(lines.filter((line) => line.level >= 40)).toEqual([
      expect.objectContaining({ code: 'node_error', msg: 'request failed', upstreamStatus: 500, upstreamError: 'simulated failure' }),
    ]);
    // The access line names the code too, at info.
    expect(lines.filter((line) => line.level < 40)).toEqual(
      expect.arrayContaining([expect.objectContaining({ level: 30, code: 'node_error' })]),
    );
  });

  it('502: no provider takes the session → provider_error', async () => {
    sim.control.failNext('openModel', { status: 500, error: 'no provider accepting session' });
    const res = await http.createForModel(await aKey(), model);
    expect(res.status).toBe(502);
    expect(res.body).toEqual(errorBody('No provider accepts a session for this model right now', 'api_error', 'provider_error'));
  });

  it('a 4xx is not logged as an error: only its access line, with the code', async () => {
    await call('GET', '/api/v1/session', { headers: withId('shapes-401') });
    expect(linesOf(gateway, 'shapes-401')).toEqual([expect.objectContaining({ level: 30, code: 'invalid_credentials' })]);
  });

  it('a client that aborts its upload mid-body is a client error: nothing logged at warn or above, no stack', async () => {
    const key = await aKey();
    const url = new URL(gateway.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const head =
      `POST /api/v1/session/modelsession?model_id=${model} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `Authorization: ${key.auth}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n` +
      `x-request-id: shapes-aborted-upload\r\n\r\n`;
    await new Promise<void>((resolve, reject) =>
      socket.write(`${head}{"sessionDuration": 600, "pad": "${'x'.repeat(512)}`, (e) => (e ? reject(e) : resolve())),
    );
    socket.destroy();
    // The access line is written when the request ends (here: when its connection closes).
    const lines = await waitFor('the aborted request to be logged', () => {
      const found = linesOf(gateway, 'shapes-aborted-upload');
      return found.some((line) => line.msg.startsWith('POST ')) ? found : undefined;
    });
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(
      gateway
        .logs()
        .split('\n')
        .filter((line) => line.includes('shapes-aborted-upload') && line.includes('"stack"')),
    ).toEqual([]);
    expect(sim.counts().openModel ?? 0).toBe(0);
  });

  it('a malformed URL answers 400 in the same shape, without echoing the URL', async () => {
    const res = await fetch(`${gateway.url}/api/v1/models/%zz-secret/bids`);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toContain('zz-secret');
    expect(JSON.parse(text)).toEqual(errorBody('Bad request', 'invalid_request_error', 'bad_request'));
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it("a path parameter over the router's limit answers 414 in the same shape, without echoing it", async () => {
    const res = await fetch(`${gateway.url}/api/v1/models/${'m'.repeat(150)}-secret/bids`);
    const text = await res.text();
    expect(res.status).toBe(414);
    expect(text).not.toContain('-secret');
    expect(JSON.parse(text)).toEqual(errorBody('URI too long', 'invalid_request_error', 'uri_too_long'));
  });

  it('headers over the limit answer 431 in the same shape', async () => {
    const res = await fetch(`${gateway.url}/api/v1/session`, { headers: { 'x-padding': 'a'.repeat(20 * 1024) } });
    expect(res.status).toBe(431);
    expect(await res.json()).toEqual(errorBody('Request headers too large', 'invalid_request_error', 'headers_too_large'));
  });

  it('every answer carries X-Content-Type-Options: nosniff, errors and the raw 431 included; only /docs has the CSP', async () => {
    const key = await aKey();
    const answers: [string, Response][] = [
      ['200 health', await fetch(`${gateway.url}/health`)],
      ['200 metrics', await fetch(`${gateway.url}/metrics`)],
      ['200 openapi', await fetch(`${gateway.url}/api/v1/openapi.json`)],
      ['401', await fetch(`${gateway.url}/api/v1/session`)],
      ['404 route', await fetch(`${gateway.url}/api/v1/nothing-here`)],
      ['404 session', await fetch(`${gateway.url}/api/v1/session`, { headers: { authorization: key.auth } })],
      [
        '422',
        await fetch(`${gateway.url}/api/v1/session/modelsession`, {
          method: 'POST',
          headers: { authorization: key.auth, 'content-type': 'application/json' },
          body: '{"sessionDuration":"abc"}',
        }),
      ],
      [
        '413',
        await fetch(`${gateway.url}/api/v1/session/modelsession?model_id=${model}`, {
          method: 'POST',
          headers: { authorization: key.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }),
        }),
      ],
      ['400 bad URL', await fetch(`${gateway.url}/api/v1/models/%zz/bids`)],
      ['414', await fetch(`${gateway.url}/api/v1/models/${'m'.repeat(150)}/bids`)],
      ['431', await fetch(`${gateway.url}/api/v1/session`, { headers: { 'x-padding': 'a'.repeat(20 * 1024) } })],
      ['200 docs', await fetch(`${gateway.url}/docs`)],
    ];
    const seen = answers.map(([name, res]) => [name, res.status, res.headers.get('x-content-type-options')]);
    expect(seen).toEqual(answers.map(([name]) => [name, Number(name.split(' ')[0]), 'nosniff']));
    const csp = (res: Response) => res.headers.get('content-security-policy');
    expect(csp(answers.at(-1)![1])).toContain("frame-ancestors 'none'");
    expect(csp(await fetch(`${gateway.url}/docs/swagger-ui-init.js`))).toContain("frame-ancestors 'none'");
    expect(csp(answers[0][1])).toBeNull();
    // The Swagger UI settings the page runs with: pasted credentials are not kept in localStorage.
    expect(await (await fetch(`${gateway.url}/docs/swagger-ui-init.js`)).text()).toMatch(/"persistAuthorization":\s*false/);
  });

  it("Swagger's error examples are the real answers: the error object of their status, the detail the app sends", async () => {
    const spec = (await call('GET', '/api/v1/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: { 'application/json'?: { schema?: { example?: unknown } } } }> }>
      >;
    };
    const examples: Record<string, unknown> = {};
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, answer] of Object.entries(operation.responses)) {
          // Readiness answers its report, not an error, when a component is down.
          if (Number(status) < 400 || path.startsWith('/health')) continue;
          const example = answer.content?.['application/json']?.schema?.example as { detail: unknown; error: { param?: unknown } };
          examples[`${method.toUpperCase()} ${path} ${status}`] = example;
          expect([path, status, example]).toEqual([
            path,
            status,
            {
              detail: expect.anything(),
              error: {
                message: expect.any(String),
                type: errorTypeFor(Number(status)),
                // null, or where the issue is (a 422).
                param: Number(status) === 422 ? expect.any(String) : null,
                code: expect.stringMatching(/^[a-z_]+$/),
              },
            },
          ]);
        }
      }
    }
    // The two that had drifted from the real details.
    expect(examples['POST /api/v1/session/modelsession 502']).toEqual(
      errorBody('proxy-router answered with an error', 'api_error', 'node_error'),
    );
    expect(examples['POST /api/v1/session/pingsession 504']).toEqual(errorBody('proxy-router timed out', 'api_error', 'upstream_timeout'));
  });

  // Last: the node goes down (the circuit may open).
  it('503: the node cannot be reached → proxy_router_unavailable', async () => {
    const key = await aKey();
    await relay.down();
    try {
      const res = await call('POST', `/api/v1/session/modelsession?model_id=${model}`, {
        auth: key.auth,
        body: {},
        headers: withId('shapes-503'),
      });
      expect(res.status).toBe(503);
      expect(res.body).toEqual(errorBody('proxy-router unreachable', 'api_error', 'proxy_router_unavailable'));
      expect(linesOf(gateway, 'shapes-503').filter((line) => line.level >= 40)).toEqual([
        expect.objectContaining({ code: 'proxy_router_unavailable', failure: 'refused', msg: 'request failed' }),
      ]);
    } finally {
      await relay.up();
    }
  });

  // After the log checks: the typed client's application context (`logger: false`) silences
  // Nest's static logger for the whole process.
  it('an RPC error over TCP carries the code beside status and detail', async () => {
    typed = await gatewayClient({ transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 15_000 });
    const key = await aKey();
    const refused = await typed.client.getSession(key.auth).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(SessionGatewayError);
    expect({ ...(refused as SessionGatewayError) }).toEqual({
      status: 404,
      detail: 'No active session',
      code: 'no_session',
      name: 'SessionGatewayError',
    });
    const unauthenticated = await typed.client.listModels('').catch((error: unknown) => error);
    expect(unauthenticated).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });
});
