/**
 * Helpers of the session concurrency, fault and multi-instance suites: keys, gateway
 * processes, a switchable relay in front of the simulator, and database probes.
 */
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import type { Simulator } from '../../dev/simulator';
import { ApiKeyService } from '../../src/auth/api-key.service';
import { UserService } from '../../src/auth/user.service';
import { bearer, client, type JsonResponse, type TestApp } from './app';
import type { TestDatabase } from './database';
import { freePort, ROOT, type Spawned, spawnNode, waitForHttp } from './process';

export const SIM_USER = 'gateway';
export const SIM_PASSWORD = 'sessions-e2e-pr-password-7f21';
export const MODEL_SESSION = '/api/v1/session/modelsession';
export const SESSION = '/api/v1/session';

export interface TestKey {
  /** The api_keys row id. */
  id: string;
  /** `Bearer sk-…`. */
  auth: string;
}

/** The environment every gateway of these suites shares (timeouts small, rate limit out of the way). */
export function gatewayEnv(db: TestDatabase, nodeUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    PROXY_ROUTER_URL: nodeUrl,
    PROXY_ROUTER_USERNAME: SIM_USER,
    PROXY_ROUTER_PASSWORD: SIM_PASSWORD,
    PROXY_ROUTER_TIMEOUT_MS: '1500',
    SESSION_OPEN_TIMEOUT_MS: '3000',
    SESSION_SWEEP_INTERVAL_S: '3600',
    CHAIN_THROTTLE_COOLDOWN_S: '2',
    RATE_LIMIT_PER_MIN: '10000000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Keys created in-process, one local user per key (MAX_KEYS_PER_USER never matters). */
export async function createKeys(app: TestApp, label: string, count: number): Promise<TestKey[]> {
  const users = app.app.get(UserService);
  const keys = app.app.get(ApiKeyService);
  const created: TestKey[] = [];
  for (let i = 0; i < count; i++) {
    const user = await users.resolve('local', `${label}-${i}`);
    const { apiKey, key } = await keys.create(user.id, `${label}-${i}`);
    created.push({ id: apiKey.id, auth: bearer(key) });
  }
  return created;
}

/** A key made by the CLI (`node dist/src/cli.js keys create`), for suites whose gateways are processes. */
export function cliKey(databaseUrl: string, user: string): Promise<TestKey> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [resolve(ROOT, 'dist/src/cli.js'), 'keys', 'create', '--user', user, '--json'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`cli failed: ${error.message}\n${stderr}`));
        const line = stdout.trim().split('\n').pop()!;
        const parsed = JSON.parse(line) as { id: string; key: string };
        done({ id: parsed.id, auth: bearer(parsed.key) });
      },
    );
  });
}

export interface GatewayProcess {
  url: string;
  port: number;
  spawned: Spawned;
}

/** `node dist/src/main.js` with this environment, once `GET /health` answers. */
export async function startGatewayProcess(env: Record<string, string>, port?: number): Promise<GatewayProcess> {
  const chosen = port ?? (await freePort());
  const spawned = spawnNode('dist/src/main.js', [], { ...env, HOST: '127.0.0.1', PORT: String(chosen) });
  const url = `http://127.0.0.1:${chosen}`;
  await waitForHttp(`${url}/health`, spawned, 30_000);
  return { url, port: chosen, spawned };
}

export function api(baseUrl: string) {
  const call = client(baseUrl);
  return {
    createModel: <T = any>(key: TestKey, modelId: string, body: unknown = { sessionDuration: 3600 }) =>
      call<T>('POST', `${MODEL_SESSION}?model_id=${modelId}`, { auth: key.auth, body }),
    current: <T = any>(key: TestKey) => call<T>('GET', SESSION, { auth: key.auth }),
    ping: <T = any>(key: TestKey) => call<T>('POST', `${SESSION}/pingsession`, { auth: key.auth }),
    close: <T = any>(key: TestKey) => call<T>('POST', `${SESSION}/closesession`, { auth: key.auth }),
    get: <T = any>(path: string) => call<T>('GET', path),
  };
}

/** Records when a promise settled, relative to `since` (performance.now()). */
export async function timed<T extends JsonResponse>(since: number, pending: Promise<T>): Promise<T & { doneAt: number }> {
  const answer = await pending;
  return { ...answer, doneAt: performance.now() - since };
}

export interface SessionRow {
  id: string;
  status: string;
  chain_session_id: string | null;
  model_id: string | null;
  closed_at: Date | null;
  failure_reason: string | null;
}

export const rowsOf = (db: TestDatabase, keyId: string): Promise<SessionRow[]> =>
  db.query<SessionRow>(
    'SELECT id, status, chain_session_id, model_id, closed_at, failure_reason FROM sessions WHERE api_key_id = $1 ORDER BY created_at',
    [keyId],
  );

export async function liveCount(db: TestDatabase, keyId: string): Promise<number> {
  const [row] = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM sessions WHERE api_key_id = $1 AND status IN ('opening', 'active')`,
    [keyId],
  );
  return Number(row.n);
}

/** Live models that have a live bid (an open by model succeeds), in the fixture's order. */
export function openableModels(sim: Simulator): string[] {
  const market = sim.marketplace;
  return market.liveModelIds.filter((id) => id !== market.modelWithoutBidsId);
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface RelayedRequest {
  method: string;
  path: string;
}

/**
 * An HTTP relay in front of the simulator: the gateway talks to it as to the node. It logs
 * every request (so tests can count opens per model) and can go down (connection refused,
 * open connections dropped) and come back on the same port, while the simulator keeps its
 * chain state.
 */
export interface NodeRelay {
  url: string;
  requests: RelayedRequest[];
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startNodeRelay(targetUrl: string): Promise<NodeRelay> {
  const target = new URL(targetUrl);
  const requests: RelayedRequest[] = [];
  const sockets = new Set<Socket>();
  const relay = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    // The gateway gave up (its deadline): drop the call upstream too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  const server: Server = createServer(relay);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const down = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((done) => server.close(() => done()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    down,
    up: () => listen(port),
    stop: down,
  };
}
