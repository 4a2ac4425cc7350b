/**
 * Helpers for the session suites (docs/API.md §5): the app's environment, keys, a typed client
 * of the four session routes, and simulator probes. Other suites import these: change
 * nothing that exists here, only add.
 */
import type { SessionRecord, Simulator } from '../../dev/simulator';
import { ApiKeyService } from '../../src/auth/api-key.service';
import { LOCAL_ISSUER, UserService } from '../../src/auth/user.service';
import { SessionSweeper } from '../../src/session/session-sweeper';
import { bearer, client, type JsonResponse, oidcEnv, type TestApp } from './app';

/** Basic-auth credentials the simulator requires when a suite starts it with them. */
export const SIM_USERNAME = 'gateway';
export const SIM_PASSWORD = 'session-e2e-pr-password-7d1f';

/** A blockchain id as the gateway writes it (lower case). */
export const HEX32 = /^0x[0-9a-f]{64}$/;

/**
 * The gateway's environment for session suites: small timeouts, sweeps only when a test
 * calls `sweep()` (the interval is an hour), duration bounds 60–7200 s.
 */
export function sessionEnv(db: { url: string }, sim: { url: string }, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    PROXY_ROUTER_URL: sim.url,
    PROXY_ROUTER_USERNAME: SIM_USERNAME,
    PROXY_ROUTER_PASSWORD: SIM_PASSWORD,
    ...oidcEnv(),
    SESSION_OPEN_TIMEOUT_MS: '3000',
    PROXY_ROUTER_TIMEOUT_MS: '1500',
    PING_TIMEOUT_MS: '1000',
    SESSION_SWEEP_INTERVAL_S: '3600',
    SESSION_MIN_DURATION_S: '60',
    SESSION_MAX_DURATION_S: '7200',
    ...overrides,
  };
}

export interface TestKey {
  id: string;
  userId: string;
  /** The whole key, `sk-<prefix>.<secret>`. */
  key: string;
  /** `sk-<prefix>`, as session answers show it. */
  prefix: string;
  /** `Bearer sk-…`, ready for an Authorization header. */
  auth: string;
}

let keyCount = 0;

/** A new API key of a local user (a new user unless `username` names one), made in-process. */
export async function aKey(app: TestApp, username?: string): Promise<TestKey> {
  const name = username ?? `session-user-${process.pid}-${++keyCount}`;
  const user = await app.app.get(UserService).resolve(LOCAL_ISSUER, name);
  const { apiKey, key } = await app.app.get(ApiKeyService).create(user.id, `session-e2e-${keyCount}`);
  return { id: apiKey.id, userId: user.id, key, prefix: key.split('.')[0], auth: bearer(key) };
}

export interface SessionCreatedBody {
  success: boolean;
  message: string;
  session_id: string;
  api_key_prefix: string;
  model: string;
  bid_id: string | null;
  provider: string | null;
  expires_at: string | null;
  reused: boolean;
  replaced_session_id: string | null;
}

export interface CurrentSessionBody {
  session_id: string | null;
  model: string | null;
  bid_id: string | null;
  provider: string | null;
  status: 'active' | 'opening';
  opened_at: string | null;
  expires_at: string | null;
  api_key_prefix: string;
}

export interface PingBody {
  status: 'alive' | 'dead' | 'expired' | 'timeout' | 'busy' | 'no_session';
  message: string;
  session_id?: string;
  success: boolean;
  error?: string;
}

export interface CloseBody {
  success: boolean;
  message: string;
  session_id: string | null;
}

/** Request options of the create routes: a JSON body (default `{}`), or raw text, or none. */
export type CreateBody = { body?: unknown; rawBody?: string; headers?: Record<string, string>; noBody?: boolean };

/** The session routes of one gateway. `auth` is a whole Authorization header value. */
export function sessionApi(baseUrl: string) {
  const call = client(baseUrl);
  const createOptions = (auth: string | undefined, options: CreateBody) => {
    if (options.noBody || options.rawBody !== undefined) return { auth, rawBody: options.rawBody, headers: options.headers };
    return { auth, body: options.body ?? {}, headers: options.headers };
  };
  return {
    /** POST /api/v1/session/modelsession; `modelId` undefined leaves the query parameter out. */
    createForModel: (auth: string | undefined, modelId: string | undefined, options: CreateBody = {}) =>
      call<SessionCreatedBody>(
        'POST',
        `/api/v1/session/modelsession${modelId === undefined ? '' : `?model_id=${encodeURIComponent(modelId)}`}`,
        createOptions(auth, options),
      ),
    /** POST /api/v1/session/bidsession; `bidId` undefined leaves the query parameter out. */
    createForBid: (auth: string | undefined, bidId: string | undefined, options: CreateBody = {}) =>
      call<SessionCreatedBody>(
        'POST',
        `/api/v1/session/bidsession${bidId === undefined ? '' : `?bid_id=${encodeURIComponent(bidId)}`}`,
        createOptions(auth, options),
      ),
    current: (auth: string | undefined) => call<CurrentSessionBody>('GET', '/api/v1/session', { auth }),
    ping: (auth: string | undefined) => call<PingBody>('POST', '/api/v1/session/pingsession', { auth }),
    close: (auth: string | undefined) => call<CloseBody>('POST', '/api/v1/session/closesession', { auth }),
  };
}
export type SessionApi = ReturnType<typeof sessionApi>;
export type { JsonResponse };

/** An on-chain time (unix seconds) as the gateway writes it: ISO 8601 with milliseconds. */
export function chainTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/** Unix seconds now, as the simulator's clock reads it. */
export function chainNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

/** Polls `probe` until it returns a truthy value (returned), or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 5_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Lets the start-up sweep finish (it calls the node), so that a test's simulator counts
 * are its own: with SESSION_SWEEP_INTERVAL_S an hour, no other sweep runs on its own.
 */
export async function settleBackground(app: TestApp): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await app.app.get(SessionSweeper).sweep();
}

/** The simulator's record of a session the gateway named (fails if it has none). */
export function onChain(sim: Simulator, sessionId: string): SessionRecord {
  const record = sim.control.getSession(sessionId);
  if (!record) throw new Error(`the simulator has no session ${sessionId}`);
  return record;
}

/**
 * Runs `change` on the next session the simulator opens, before the gateway reads it back
 * (`GET /blockchain/sessions/{id}` is held `holdMs` meanwhile): e.g. an `EndsAt` close to
 * now, which the gateway then records. Await the returned promise after the create.
 */
export async function onNextOpen(sim: Simulator, change: (session: SessionRecord) => void, holdMs = 300): Promise<SessionRecord> {
  const known = new Set(sim.control.sessions().map((s) => s.id));
  const previous = sim.control.plan.latencyOf('session');
  sim.control.setLatency('session', holdMs);
  try {
    const opened = await waitFor('a new session at the simulator', () => sim.control.sessions().find((s) => !known.has(s.id)), 10_000, 5);
    change(opened);
    return opened;
  } finally {
    sim.control.setLatency('session', previous);
  }
}

/** The total of every operation the simulator counted. */
export function totalCalls(sim: Simulator): number {
  return Object.values(sim.counts()).reduce((sum, n) => sum + n, 0);
}
