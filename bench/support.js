// Shared set-up of the session benchmarks: the simulator (from dist/dev), a fresh PostgreSQL
// database, a gateway process (`node dist/src/main.js`) and API keys. Builds nothing: run
// `npm run build` first (the npm scripts do).
'use strict';
const { spawn } = require('node:child_process');
// The in-process simulator waits on one shared abort signal per delayed answer: K > 10 at once is expected.
require('node:events').setMaxListeners(1000);
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { cpus, loadavg, totalmem } = require('node:os');
const { resolve } = require('node:path');
const { Client } = require('pg');

const ROOT = resolve(__dirname, '..');
const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SIM_USER = 'bench';
const SIM_PASSWORD = 'bench-proxy-router-password';

function requireDist(path) {
  const file = resolve(ROOT, 'dist', path);
  if (!existsSync(`${file}.js`) && !existsSync(file)) {
    throw new Error(`dist/${path} is missing: run \`npm run build\` first`);
  }
  return require(file);
}

/** `--name value` / `--name=value` → number, else the default. */
function numberArg(name, fallback) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return Number(argv[i + 1]);
    if (argv[i].startsWith(`--${name}=`)) return Number(argv[i].slice(name.length + 3));
  }
  return fallback;
}

function machine() {
  const cores = cpus();
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  return (
    `Node ${process.version}, ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB; load average at start ${load}`
  );
}

/** `--name` present (a flag without value). */
function flagArg(name) {
  return process.argv.slice(2).includes(`--${name}`);
}

/** `--name value` / `--name=value` → string, else the default. */
function stringArg(name, fallback) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return fallback;
}

async function admin(sql) {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function freshDatabase() {
  const name = `gw_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return {
    name,
    url: ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * The gateway as production runs it, in its own process. With `BENCH_CPU_PROF=<dir>` it runs
 * under `node --cpu-prof` and writes a .cpuprofile there when it stops (SIGTERM: it exits
 * normally); open it in Chrome DevTools or summarise it with `node bench/profile-summary.js`.
 */
async function startGateway(env) {
  const port = await freePort();
  const profileDir = process.env.BENCH_CPU_PROF;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, resolve(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.once('exit', done));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid,
    output: () => output,
    /** The gateway process's resident set size, in MiB (Linux /proc). */
    rssMiB: () => rssMiB(child.pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `count` API keys, one local user each, made as the CLI makes them (one Nest context, not one process per key). */
async function createKeys(databaseUrl, count, label) {
  const { NestFactory } = require('@nestjs/core');
  const { EventEmitterModule } = require('@nestjs/event-emitter');
  const { loadConfig } = requireDist('src/config/app-config');
  const { ConfigModule } = requireDist('src/config/config.module');
  const { DatabaseModule } = requireDist('src/database/database.module');
  const { ENTITIES } = requireDist('src/entities');
  const { AuthCoreModule } = requireDist('src/auth/auth.module');
  const { UserService, LOCAL_ISSUER } = requireDist('src/auth/user.service');
  const { ApiKeyService } = requireDist('src/auth/api-key.service');
  class BenchKeysModule {}
  const context = await NestFactory.createApplicationContext(
    {
      module: BenchKeysModule,
      imports: [
        ConfigModule.forRoot(loadConfig({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '4' })),
        EventEmitterModule.forRoot(),
        DatabaseModule.forRoot({ entities: ENTITIES, attachToRunning: true }),
        AuthCoreModule,
      ],
    },
    { logger: ['error', 'warn'] },
  );
  try {
    const users = context.get(UserService);
    const keys = context.get(ApiKeyService);
    const created = [];
    for (let i = 0; i < count; i++) {
      const user = await users.resolve(LOCAL_ISSUER, `${label}-${i}`);
      created.push((await keys.create(user.id, `${label}-${i}`)).key);
    }
    return created;
  } finally {
    await context.close();
  }
}

/**
 * The simulator as its own process (`node dist/dev/simulator/main.js`), driven through its
 * control routes: the bench's client then does not share an event loop (and a core) with
 * the node it measures against. Same surface as the in-process one for what benches use;
 * its methods return promises (await them in both modes).
 */
async function startSimulatorProcess() {
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/dev/simulator/main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SIM_PORT: '0', SIM_USERNAME: SIM_USER, SIM_PASSWORD: SIM_PASSWORD, SIM_SEED: 'bench' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((done) => child.once('exit', done));
  const url = await new Promise((done, fail) => {
    let buffered = '';
    child.once('exit', (code) => fail(new Error(`simulator exited (${code}):\n${stderr}`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const line = buffered.split('\n').find((l) => l.includes('"ready"'));
      if (line) done(JSON.parse(line).url);
    });
  });
  const auth = `Basic ${Buffer.from(`${SIM_USER}:${SIM_PASSWORD}`).toString('base64')}`;
  const control = async (method, path, body) => {
    const res = await fetch(`${url}/__sim/${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`simulator control ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const marketplace = await control('GET', 'marketplace');
  return {
    url,
    marketplace,
    counts: () => control('GET', 'counts'),
    control: {
      setLatency: (op, ms) => control('POST', 'latency', { op, ms }),
      resetCounts: () => control('POST', 'counts/reset', {}),
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Simulator + fresh database + gateway. `env` adds to (and overrides) the gateway's
 * environment; the rate limit is set out of reach so it never shapes the numbers.
 * `options.simulatorProcess`: the simulator in its own process (see startSimulatorProcess).
 */
async function startStack(env = {}, options = {}) {
  const { startSimulator } = requireDist('dev/simulator');
  const sim = options.simulatorProcess
    ? await startSimulatorProcess()
    : await startSimulator({ username: SIM_USER, password: SIM_PASSWORD, seed: 'bench' });
  const db = await freshDatabase();
  let gateway;
  try {
    gateway = await startGateway({
      DATABASE_URL: db.url,
      PROXY_ROUTER_URL: sim.url,
      PROXY_ROUTER_USERNAME: SIM_USER,
      PROXY_ROUTER_PASSWORD: SIM_PASSWORD,
      RATE_LIMIT_PER_MIN: '10000000',
      LOG_LEVEL: 'warn',
      ...env,
    });
  } catch (error) {
    await sim.stop();
    await db.drop();
    throw error;
  }
  const market = sim.marketplace;
  return {
    sim,
    db,
    gateway,
    models: market.liveModelIds.filter((id) => id !== market.modelWithoutBidsId),
    stop: async () => {
      await gateway.stop();
      await sim.stop();
      await db.drop();
    },
  };
}

async function createModelSession(baseUrl, key, modelId, sessionDuration = 3600) {
  const response = await fetch(`${baseUrl}/api/v1/session/modelsession?model_id=${modelId}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionDuration }),
  });
  return { status: response.status, body: await response.json() };
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return Math.round((kib / 1024) * 10) / 10;
}

/** The gateway's /metrics, parsed into `name{labels}` → value. */
async function scrapeMetrics(baseUrl) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** One autocannon run, quiet; resolves with its result. */
function autocannonRun(options) {
  const autocannon = require('autocannon');
  return new Promise((done, fail) => {
    const instance = autocannon(options, (error, result) => (error ? fail(error) : done(result)));
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

/** A table row of an autocannon result. */
function resultRow(name, result, extra = {}) {
  return {
    scenario: name,
    'req/s (mean)': Math.round(result.requests.average),
    'p50 (ms)': result.latency.p50,
    'p99 (ms)': result.latency.p99,
    'max (ms)': result.latency.max,
    requests: result.requests.total,
    'non-2xx/errors': result.non2xx + result.errors + result.timeouts,
    ...extra,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Prints `met` / `MISSED` for one target and returns whether it was met. */
function target(description, met) {
  console.log(`target ${met ? 'met   ' : 'MISSED'}: ${description}`);
  return met;
}

// ---------------------------------------------------------------------------------------------
// The development OIDC issuer (dev/oidc/dev-issuer.mjs) and a real login, for user JWTs
// ---------------------------------------------------------------------------------------------

const ISSUER_CLIENT_ID = 'morpheus-gateway-bench';
const ISSUER_AUDIENCE = 'morpheus-gateway';
const REDIRECT_URI = 'http://127.0.0.1/callback';

/**
 * Spawns the dev issuer on a free port (signing key generated in memory) and resolves once
 * it prints its ready line. `gatewayEnv` is what the gateway needs to accept its tokens.
 */
async function startIssuer() {
  const clientSecret = randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, [resolve(ROOT, 'dev/oidc/dev-issuer.mjs')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DEV_OIDC_PORT: '0',
      DEV_OIDC_CLIENT_ID: ISSUER_CLIENT_ID,
      DEV_OIDC_CLIENT_SECRET: clientSecret,
      DEV_OIDC_AUDIENCE: ISSUER_AUDIENCE,
      DEV_OIDC_ACCESS_TOKEN_TTL_S: '3600',
      DEV_OIDC_EXIT_WITH_PARENT: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((done) => child.once('exit', done));
  const issuer = await new Promise((done, fail) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`dev issuer not ready within 20 s:\n${stderr}`)), 20_000);
    child.once('exit', (code) => fail(new Error(`dev issuer exited (${code}):\n${stderr}`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (const line of buffered.split('\n')) {
        try {
          const parsed = JSON.parse(line);
          if (parsed.ready) {
            clearTimeout(timer);
            done(parsed.issuer);
          }
        } catch {
          // not the ready line (yet)
        }
      }
    });
  });
  return {
    issuer,
    clientId: ISSUER_CLIENT_ID,
    clientSecret,
    audience: ISSUER_AUDIENCE,
    gatewayEnv: {
      OIDC_ISSUER_URL: issuer,
      OIDC_CLIENT_ID: ISSUER_CLIENT_ID,
      OIDC_CLIENT_SECRET: clientSecret,
      OIDC_AUDIENCE: ISSUER_AUDIENCE,
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A real JWT access token for `username`: the authorization code flow with PKCE through the
 * dev issuer's login form (any name, any password), as test/support/oidc.ts loginForTokens does.
 */
async function loginForJwt(issuer, username) {
  const discovery = await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json();
  const cookies = new Map();
  const request = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: issuer.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `urn:${issuer.audience}`,
  }).toString();
  let url = authorize.href;
  let res = await request(url);
  let code;
  for (let hop = 0; hop < 12 && !code; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const location = new URL(res.headers.get('location'), url);
      if (location.origin + location.pathname === REDIRECT_URI) {
        code = location.searchParams.get('code');
        if (!code) throw new Error(`login failed: ${location.href}`);
        break;
      }
      url = location.href;
      res = await request(url);
    } else if (res.status === 200) {
      const html = await res.text();
      const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1]?.replace(/&amp;/g, '&');
      const prompt = /name="prompt"\s+value="([^"]+)"/i.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`no login form at ${url}`);
      const fields = prompt === 'login' ? { prompt, login: username, password: 'any' } : { prompt };
      res = await request(new URL(action, url).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    } else {
      throw new Error(`login flow: HTTP ${res.status} at ${url}`);
    }
  }
  if (!code) throw new Error('login flow did not reach the redirect URI');
  const basic = Buffer.from(`${encodeURIComponent(issuer.clientId)}:${encodeURIComponent(issuer.clientSecret)}`).toString('base64');
  const token = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString(),
  });
  const body = await token.json();
  if (!token.ok || typeof body.access_token !== 'string' || body.access_token.split('.').length !== 3) {
    throw new Error(`token request: ${token.status} ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

module.exports = {
  machine,
  numberArg,
  stringArg,
  flagArg,
  startStack,
  createKeys,
  createModelSession,
  requireDist,
  scrapeMetrics,
  autocannonRun,
  resultRow,
  median,
  target,
  startIssuer,
  loginForJwt,
};
