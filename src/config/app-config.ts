import { readFileSync, statSync } from 'node:fs';

/**
 * The gateway's configuration: the environment of docs/API.md §7, parsed and validated once
 * at start-up. This is the only place that reads `process.env`.
 */
export interface AppConfig {
  readonly http: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    trustProxy: boolean;
    corsOrigins: string[];
    /** Slow clients: time to send the headers, the whole request, and idle time between requests. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  readonly database: { url?: string; dataDir: string; poolSize: number };
  readonly proxyRouter: {
    url?: string;
    username?: string;
    password?: string;
    timeoutMs: number;
    sessionOpenTimeoutMs: number;
  };
  readonly oidc: {
    issuerUrl?: string;
    clientId?: string;
    clientSecret?: string;
    audience?: string;
    swaggerClientId?: string;
    /** Age after which the issuer's JWKS is refreshed; the last good set keeps serving meanwhile. */
    jwksCacheMaxAgeS: number;
    /** Refuse an introspection answer without `token_type` (oidc-provider omits it for refresh tokens). */
    introspectionRequireTokenType: boolean;
    /** Oldest accepted JWT, by `iat`. */
    jwtMaxAgeS: number;
  };
  readonly apiKeys: { pepper?: string; maxPerUser: number };
  readonly microservice: {
    /** The server's URL without any `user:password@` (those are in `nats`). */
    natsUrl?: string;
    nats: NatsConnectionConfig;
    host: string;
    port: number;
    /** Largest message accepted on either transport (TCP frame, NATS payload). */
    messageMaxBytes: number;
  };
  readonly sessions: {
    minDurationS: number;
    maxDurationS: number;
    pingTimeoutMs: number;
    sweepIntervalS: number;
    chainThrottleCooldownS: number;
  };
  readonly modelsCacheTtlS: number;
  readonly rateLimitPerMin: number;
  /** Across all of a user's keys and tokens on the limited routes. */
  readonly userRateLimitPerMin: number;
  /** Session opens per key (a reuse is not an open). */
  readonly openRateLimitPerMin: number;
  /** POST /api/v1/auth/keys per user. */
  readonly keyCreateLimitPerHour: number;
  readonly redisUrl?: string;
  readonly metricsToken?: string;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
}

/** How the gateway logs in to NATS and secures the link (docs/API.md §6); at most one credential. */
export interface NatsConnectionConfig {
  user?: string;
  password?: string;
  token?: string;
  /** A `.creds` file (user JWT and NKEY seed), read again at every connection. */
  credsFile?: string;
  /** Present when the link must be TLS (a `tls://` URL or any NATS_TLS_* variable). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Reads one variable; empty strings count as unset so `FOO=` in a .env file is harmless. */
function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function fail(name: string, expected: string, value: string): never {
  // Secrets never reach this message: only non-secret variables are validated by shape.
  throw new ConfigError(`Invalid environment variable ${name}: expected ${expected}, got '${value}'`);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) fail(name, `an integer from ${min} to ${max}`, value);
  const n = Number(value);
  if (n < min || n > max) fail(name, `an integer from ${min} to ${max}`, value);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return fail(name, 'true or false', value);
}

/** Loopback by name or address: traffic to it never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Plain http:// to another host carries tokens and the node's password in clear. */
function secureUpstream(env: Env, name: string, value: string | undefined): string | undefined {
  if (value === undefined || bool(env, 'ALLOW_INSECURE_UPSTREAMS', false)) return value;
  const { protocol, hostname } = new URL(value);
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    fail(name, 'https:// (or http:// to a loopback host; ALLOW_INSECURE_UPSTREAMS=true allows plain http)', redactUrl(value));
  }
  return value;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return fail(name, `a URL (${protocols.join(', ')})`, redactUrl(value));
  }
  if (!protocols.includes(parsed.protocol)) fail(name, `a URL (${protocols.join(', ')})`, redactUrl(value));
  return value.replace(/\/+$/, '');
}

/** URLs may carry credentials (postgres://user:pass@…): never echo them. */
function redactUrl(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

/** A path the process can read now, so a typo stops the start instead of every reconnect. */
function readableFile(env: Env, name: string, check?: (text: string) => boolean, expected = 'a readable file'): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let text: string;
  try {
    if (!statSync(value).isFile()) fail(name, expected, value);
    text = readFileSync(value, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return fail(name, expected, value);
  }
  if (check && !check(text)) fail(name, expected, value);
  return value;
}

function refuse(name: string, reason: string): never {
  throw new ConfigError(`Invalid environment variable ${name}: ${reason}`);
}

/**
 * NATS credentials and TLS. nats.js ignores a URL's `user:password@`, so it is taken out of
 * the URL here and used as NATS_USER/NATS_PASSWORD would be (a lone `token@` as NATS_TOKEN).
 */
function natsConnection(env: Env): { natsUrl?: string; nats: NatsConnectionConfig } {
  const given = url(env, 'NATS_URL', ['nats:', 'tls:', 'ws:', 'wss:']);
  const fromUrl: { user?: string; password?: string; token?: string } = {};
  let natsUrl = given;
  if (given) {
    const parsed = new URL(given);
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      if (password) Object.assign(fromUrl, { user, password });
      else fromUrl.token = user;
      natsUrl = given.replace(/\/\/[^@/]*@/, '//');
    }
  }
  const user = raw(env, 'NATS_USER');
  const password = raw(env, 'NATS_PASSWORD');
  const token = raw(env, 'NATS_TOKEN');
  const credsFile = readableFile(
    env,
    'NATS_CREDS_FILE',
    (text) => text.includes('NATS USER JWT') && text.includes('USER NKEY SEED'),
    'a readable NATS credentials file (user JWT and NKEY seed)',
  );
  const caFile = readableFile(env, 'NATS_TLS_CA');
  const certFile = readableFile(env, 'NATS_TLS_CERT');
  const keyFile = readableFile(env, 'NATS_TLS_KEY');

  const set = {
    NATS_USER: user,
    NATS_PASSWORD: password,
    NATS_TOKEN: token,
    NATS_CREDS_FILE: credsFile,
    NATS_TLS_CA: caFile,
    NATS_TLS_CERT: certFile,
    NATS_TLS_KEY: keyFile,
  };
  if (!given) {
    const stray = Object.entries(set).find(([, value]) => value !== undefined)?.[0];
    if (stray) refuse(stray, 'is set but NATS_URL is not');
    return { nats: {} };
  }
  if (user !== undefined && password === undefined) refuse('NATS_PASSWORD', 'must be set with NATS_USER');
  if (password !== undefined && user === undefined) refuse('NATS_USER', 'must be set with NATS_PASSWORD');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    refuse(
      certFile === undefined ? 'NATS_TLS_CERT' : 'NATS_TLS_KEY',
      'NATS_TLS_CERT and NATS_TLS_KEY go together (the client certificate and its key)',
    );
  }
  // One way to log in: two would leave it to nats.js which one the server sees.
  const ways = [
    ...(fromUrl.user !== undefined || fromUrl.token !== undefined ? ['credentials in NATS_URL'] : []),
    ...(user !== undefined ? ['NATS_USER'] : []),
    ...(token !== undefined ? ['NATS_TOKEN'] : []),
    ...(credsFile !== undefined ? ['NATS_CREDS_FILE'] : []),
  ];
  if (ways.length > 1) {
    refuse(ways[ways.length - 1], `only one NATS credential may be given, got ${ways.join(' and ')}`);
  }
  const wantsTls = new URL(given).protocol === 'tls:' || caFile !== undefined || certFile !== undefined;
  return {
    natsUrl,
    nats: {
      user: user ?? fromUrl.user,
      password: password ?? fromUrl.password,
      token: token ?? fromUrl.token,
      credsFile,
      tls: wantsTls ? { caFile, certFile, keyFile } : undefined,
    },
  };
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) fail(name, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

function list(env: Env, name: string): string[] {
  return (raw(env, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadConfig(env: Env = process.env): AppConfig {
  const rateLimitPerMin = int(env, 'RATE_LIMIT_PER_MIN', 600, 1, 10_000_000);
  // 300: the chain refuses shorter sessions (SessionTooShort), docs/API.md §7.
  const minDurationS = int(env, 'SESSION_MIN_DURATION_S', 300, 1, 31_536_000);
  const maxDurationS = int(env, 'SESSION_MAX_DURATION_S', 86_400, 1, 31_536_000);
  if (maxDurationS < minDurationS) {
    fail('SESSION_MAX_DURATION_S', `a value >= SESSION_MIN_DURATION_S (${minDurationS})`, String(maxDurationS));
  }
  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) fail('CORS_ORIGINS', 'comma-separated origins like https://app.example.com', origin);
  }
  const oidcIssuer = secureUpstream(env, 'OIDC_ISSUER_URL', url(env, 'OIDC_ISSUER_URL', ['http:', 'https:']));
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const production = raw(env, 'NODE_ENV') === 'production';
  // The embedded database is for development: one process, files on the local disk.
  if (!databaseUrl && production && !bool(env, 'ALLOW_EMBEDDED_DB', false)) {
    throw new ConfigError(
      'DATABASE_URL is required when NODE_ENV=production (set ALLOW_EMBEDDED_DB=true to run the embedded database in production anyway)',
    );
  }
  const { natsUrl, nats } = natsConnection(env);
  return Object.freeze({
    http: {
      port: int(env, 'PORT', 3000, 0, 65_535),
      host: raw(env, 'HOST') ?? '0.0.0.0',
      bodyLimitBytes: 64 * 1024,
      trustProxy: bool(env, 'TRUST_PROXY', false),
      corsOrigins,
      headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
      keepAliveTimeoutMs: int(env, 'HTTP_KEEPALIVE_TIMEOUT_MS', 72_000, 100, 600_000),
    },
    database: {
      url: databaseUrl,
      dataDir: raw(env, 'DATA_DIR') ?? './data',
      poolSize: int(env, 'DB_POOL_SIZE', 10, 1, 500),
    },
    proxyRouter: {
      url: secureUpstream(env, 'PROXY_ROUTER_URL', url(env, 'PROXY_ROUTER_URL', ['http:', 'https:'])),
      username: raw(env, 'PROXY_ROUTER_USERNAME'),
      password: raw(env, 'PROXY_ROUTER_PASSWORD'),
      timeoutMs: int(env, 'PROXY_ROUTER_TIMEOUT_MS', 10_000, 1, 3_600_000),
      sessionOpenTimeoutMs: int(env, 'SESSION_OPEN_TIMEOUT_MS', 180_000, 1, 3_600_000),
    },
    oidc: {
      issuerUrl: oidcIssuer,
      clientId: raw(env, 'OIDC_CLIENT_ID'),
      clientSecret: raw(env, 'OIDC_CLIENT_SECRET'),
      audience: raw(env, 'OIDC_AUDIENCE'),
      swaggerClientId: raw(env, 'OIDC_SWAGGER_CLIENT_ID'),
      jwksCacheMaxAgeS: int(env, 'OIDC_JWKS_CACHE_MAX_AGE_S', 600, 1, 86_400),
      introspectionRequireTokenType: bool(env, 'OIDC_INTROSPECTION_REQUIRE_TOKEN_TYPE', true),
      jwtMaxAgeS: int(env, 'JWT_MAX_AGE_S', 86_400, 60, 31_536_000),
    },
    apiKeys: { pepper: raw(env, 'API_KEY_PEPPER'), maxPerUser: int(env, 'MAX_KEYS_PER_USER', 20, 1, 10_000) },
    microservice: {
      natsUrl,
      nats,
      host: raw(env, 'MICROSERVICE_HOST') ?? '127.0.0.1',
      port: int(env, 'MICROSERVICE_PORT', 3001, 0, 65_535),
      // 900 KiB: under nats-server's default max_payload (1 MiB), so both transports agree.
      messageMaxBytes: int(env, 'MESSAGE_MAX_BYTES', 921_600, 1_024, 67_108_864),
    },
    sessions: {
      minDurationS,
      maxDurationS,
      pingTimeoutMs: int(env, 'PING_TIMEOUT_MS', 30_000, 1, 3_600_000),
      sweepIntervalS: int(env, 'SESSION_SWEEP_INTERVAL_S', 60, 1, 86_400),
      chainThrottleCooldownS: int(env, 'CHAIN_THROTTLE_COOLDOWN_S', 20, 0, 86_400),
    },
    modelsCacheTtlS: int(env, 'MODELS_CACHE_TTL_S', 60, 0, 86_400),
    rateLimitPerMin,
    userRateLimitPerMin: int(env, 'USER_RATE_LIMIT_PER_MIN', 3 * rateLimitPerMin, 1, 30_000_000),
    openRateLimitPerMin: int(env, 'OPEN_RATE_LIMIT_PER_MIN', 10, 1, 10_000_000),
    keyCreateLimitPerHour: int(env, 'KEY_CREATE_LIMIT_PER_HOUR', 20, 1, 10_000_000),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    metricsToken: raw(env, 'METRICS_TOKEN'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  });
}

/**
 * What only a server checks (the CLI reads the same configuration and serves nothing):
 * an open `/metrics` is only for a server nobody but this machine can reach.
 */
export function assertServable(config: AppConfig): void {
  if (config.metricsToken === undefined && !isLoopbackHost(config.http.host)) {
    throw new ConfigError(
      `METRICS_TOKEN is required when HOST is not a loopback address (HOST=${config.http.host}): /metrics would be open to the network`,
    );
  }
}

/** Injection token for the typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
