// Shared set-up of the session benchmarks: the simulator (from dist/dev), a fresh PostgreSQL
// database, a gateway process (`node dist/src/main.js`) and API keys. Builds nothing: run
// `npm run build` first (the npm scripts do).
'use strict';
const { spawn } = require('node:child_process');
// The in-process simulator waits on one shared abort signal per delayed answer: K > 10 at once is expected.
require('node:events').setMaxListeners(1000);
const { randomBytes } = require('node:crypto');
const { existsSync } = require('node:fs');
const { createServer } = require('node:net');
const { cpus } = require('node:os');
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
  return `Node ${process.version}, ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores`;
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

/** The gateway as production runs it, in its own process. */
async function startGateway(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/src/main.js')], {
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
    output: () => output,
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
        DatabaseModule.forRoot({ attachToRunning: true }),
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
 * Simulator + fresh database + gateway. `env` adds to (and overrides) the gateway's
 * environment; the rate limit is set out of reach so it never shapes the numbers.
 */
async function startStack(env = {}) {
  const { startSimulator } = requireDist('dev/simulator');
  const sim = await startSimulator({ username: SIM_USER, password: SIM_PASSWORD, seed: 'bench' });
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

module.exports = { machine, numberArg, startStack, createKeys, createModelSession, requireDist };
