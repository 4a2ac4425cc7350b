/**
 * `npm run demo`: the gateway on the embedded database, the proxy-router simulator and a
 * development OIDC identity provider, in one process tree. DEVELOPMENT ONLY: the identity
 * provider accepts any login, and everything listens on 127.0.0.1.
 *
 * First run: a demo API key is created through the CLI path and kept in DATA_DIR
 * (git-ignored), so later runs print the same key. Ctrl-C stops every process.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimulator, Simulator } from './simulator';

const ROOT = resolve(__dirname, '../..');
const DATA_DIR = resolve(process.env.DATA_DIR ?? resolve(ROOT, 'data'));
const GATEWAY_PORT = Number(process.env.PORT ?? 3000);
const ISSUER_PORT = Number(process.env.DEV_OIDC_PORT ?? 4400);
const SIM_PORT = Number(process.env.SIM_PORT ?? 8082);
const GATEWAY_URL = `http://127.0.0.1:${GATEWAY_PORT}`;
const DEMO_USER = 'demo';
const AUDIENCE = 'morpheus-gateway';
const CLIENT_ID = 'morpheus-gateway-dev';
const SWAGGER_CLIENT_ID = 'morpheus-swagger-dev';
const KEY_FILE = resolve(DATA_DIR, 'demo-key.json');

const children: ChildProcess[] = [];
let simulator: Simulator | undefined;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Starts a node child (its output shown with DEMO_VERBOSE=1); resolves on a line matching `ready`, or at once. */
function startChild(name: string, script: string, env: Record<string, string>, ready?: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [resolve(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolveStart, reject) => {
    if (!ready) resolveStart(child);
    const onLine = (line: string) => {
      if (ready?.test(line)) resolveStart(child);
      else if (process.env.DEMO_VERBOSE) say(`[${name}] ${line}`);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (ready?.test(line)) resolveStart(child);
      else if (process.env.DEMO_VERBOSE || /error|fatal/i.test(line)) say(`[${name}] ${line}`);
    });
    child.once('exit', (code) => {
      reject(new Error(`${name} exited (${code})`));
      if (stopping) return;
      say(
        `demo: ${name} exited (${code}); run with DEMO_VERBOSE=1 to see its output (a port in use? PORT, DEV_OIDC_PORT, SIM_PORT, MICROSERVICE_PORT)`,
      );
      void stopAll(1, false); // one part gone: the demo is broken, stop the rest
    });
  });
}

async function waitForHealth(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

/** The demo key: kept in DATA_DIR; recreated (through the CLI, which attaches to the running gateway) if it no longer works. */
async function demoKey(): Promise<string> {
  if (existsSync(KEY_FILE)) {
    const { key } = JSON.parse(readFileSync(KEY_FILE, 'utf8')) as { key: string };
    const probe = await fetch(`${GATEWAY_URL}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    if (probe.status !== 401) return key;
  }
  const cli = spawnSync(process.execPath, ['dist/src/cli.js', 'keys', 'create', '--user', DEMO_USER, '--name', 'demo', '--json'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR },
    encoding: 'utf8',
  });
  if (cli.status !== 0) throw new Error(`could not create the demo key: ${cli.stderr}`);
  const { key } = JSON.parse(cli.stdout) as { key: string };
  writeFileSync(KEY_FILE, JSON.stringify({ key }), { mode: 0o600 });
  return key;
}

/**
 * The simulator starts empty on every run, while the gateway's database still holds the demo
 * key's session of the previous run: the printed curl would get that session back
 * ("reused"), one the node has never heard of. A ping lets the gateway find out (the node
 * answers "session not found", so the session is closed as dead) and the curl opens a real one.
 */
async function forgetSessionOfLastRun(key: string): Promise<void> {
  const ping = await fetch(`${GATEWAY_URL}/api/v1/session/pingsession`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
  }).catch(() => undefined);
  await ping?.text().catch(() => undefined);
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  // Fresh each run: nothing secret is committed or reused across runs.
  const clientSecret = randomBytes(24).toString('base64url');
  const nodePassword = randomBytes(24).toString('base64url');

  simulator = await startSimulator({ port: SIM_PORT, host: '127.0.0.1', username: 'gateway', password: nodePassword });
  const issuerUrl = `http://127.0.0.1:${ISSUER_PORT}`;
  await startChild(
    'oidc',
    'dev/oidc/dev-issuer.mjs',
    {
      DEV_OIDC_PORT: String(ISSUER_PORT),
      DEV_OIDC_CLIENT_ID: CLIENT_ID,
      DEV_OIDC_CLIENT_SECRET: clientSecret,
      DEV_OIDC_SWAGGER_CLIENT_ID: SWAGGER_CLIENT_ID,
      DEV_OIDC_GATEWAY_URL: GATEWAY_URL,
      DEV_OIDC_AUDIENCE: AUDIENCE,
      DEV_OIDC_EXIT_WITH_PARENT: '0',
    },
    /"ready":true/,
  );
  await startChild('gateway', 'dist/src/main.js', {
    PORT: String(GATEWAY_PORT),
    HOST: '127.0.0.1',
    DATA_DIR,
    PROXY_ROUTER_URL: simulator.url,
    PROXY_ROUTER_USERNAME: 'gateway',
    PROXY_ROUTER_PASSWORD: nodePassword,
    OIDC_ISSUER_URL: issuerUrl,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: clientSecret,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_SWAGGER_CLIENT_ID: SWAGGER_CLIENT_ID,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  await waitForHealth(`${GATEWAY_URL}/health`);
  const key = await demoKey();
  await forgetSessionOfLastRun(key);
  // A live model that has live bids, so the printed curl opens a session.
  const market = simulator.marketplace;
  const model = market.models.find((m) => market.liveModelIds.includes(m.id) && m.id !== market.modelWithoutBidsId)!;
  banner(key, model.id, model.name, issuerUrl);
}

function banner(key: string, modelId: string, modelName: string, issuerUrl: string): void {
  say();
  say('Morpheus Session Gateway — demo (development only; everything on 127.0.0.1)');
  say();
  say(`  Swagger UI     ${GATEWAY_URL}/docs`);
  say(`  API key        ${key}`);
  say(`  Demo login     Authorize → OAuth2 → any user name (e.g. "${DEMO_USER}") and any password at ${issuerUrl}`);
  say(`  Simulator      a proxy-router simulator with ${modelName} and more models`);
  say();
  say('  Open a session:');
  say(`  curl -s -X POST '${GATEWAY_URL}/api/v1/session/modelsession?model_id=${modelId}' \\`);
  say(`       -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '{"sessionDuration": 3600}'`);
  say();
  say('  Ctrl-C stops everything.');
}

let stopping = false;

/** How long children that already got the terminal's SIGINT may take before they are told again. */
const CHILD_GRACE_MS = 15_000;

/**
 * Stops every child. Ctrl-C sends SIGINT to the whole foreground process group, so the
 * children already have it: signalling them again would be a gateway's "second signal"
 * (exit at once, the embedded database left unclosed). They get SIGTERM only when the
 * signal came to this process alone, or when they outlive the grace.
 */
async function stopAll(code: number, childrenSignalled: boolean): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const late = setTimeout(() => child.kill('SIGTERM'), childrenSignalled ? CHILD_GRACE_MS : 0);
          child.once('exit', () => {
            clearTimeout(late);
            done();
          });
        }),
    ),
  );
  await simulator?.stop();
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0, true));
process.on('SIGTERM', () => void stopAll(0, false));
main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  void stopAll(1, false);
});
