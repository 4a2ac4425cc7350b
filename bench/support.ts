// The benchmarks' harness: what only benchmarks need (arguments, autocannon, tables, the
// simulator as its own process, the gateway's RSS). Databases, gateways, keys, the session
// client and the identity provider come from the test kit (test/support). Compiled with
// bench/ into dist/ (`npm run build:bench`, which the bench:* scripts run).
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { type MarketplaceFixture, type OperationCounts, type SimOperation, startSimulator } from '../dev/simulator';
import { oidcEnv } from '../test/support/app';
import { createTestDatabase, type TestDatabase } from '../test/support/database';
import {
  type Credential,
  gatewayEnv,
  type GatewayProcess,
  keyStore,
  openableModels,
  sessionApi,
  type SessionApi,
  SIMULATOR,
  someKeys,
  startGateway,
  type TestKey,
} from '../test/support/kit';
import { type DevIssuer, loginForTokens, startDevIssuer, testIssuerEnv } from '../test/support/oidc';
import { ROOT } from '../test/support/process';

// The in-process simulator waits on one shared abort signal per delayed answer: K > 10 at once is expected.
setMaxListeners(1000);

const argv = process.argv.slice(2);

/** `--name value` / `--name=value` → string, else the default. */
export function stringArg(name: string, fallback: string): string;
export function stringArg(name: string): string | undefined;
export function stringArg(name: string, fallback?: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return fallback;
}

/** `--name value` / `--name=value` → number, else the default. */
export function numberArg(name: string, fallback: number): number {
  const value = stringArg(name);
  return value === undefined ? fallback : Number(value);
}

/** `--name` present (a flag without value). */
export function flagArg(name: string): boolean {
  return argv.includes(`--${name}`);
}

export function machine(): string {
  const cores = cpus();
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  return (
    `Node ${process.version}, ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB; load average at start ${load}`
  );
}

/** What benchmarks drive of a simulator, in this process or in its own (then over its control routes). */
export interface BenchSimulator {
  url: string;
  marketplace: MarketplaceFixture;
  counts(): Promise<OperationCounts>;
  setLatency(op: SimOperation, ms: number): Promise<void>;
  resetCounts(): Promise<void>;
  stop(): Promise<void>;
}

async function inProcessSimulator(): Promise<BenchSimulator> {
  const sim = await startSimulator({ ...SIMULATOR, seed: 'bench' });
  return {
    url: sim.url,
    marketplace: sim.marketplace,
    counts: async () => sim.counts(),
    setLatency: async (op, ms) => sim.control.setLatency(op, ms),
    resetCounts: async () => sim.control.resetCounts(),
    stop: () => sim.stop(),
  };
}

/**
 * The simulator as its own process (`node dist/dev/simulator/main.js`), driven through its
 * control routes: the bench's client then does not share an event loop (and a core) with
 * the node it measures against.
 */
async function simulatorProcess(): Promise<BenchSimulator> {
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/dev/simulator/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      SIM_PORT: '0',
      SIM_USERNAME: SIMULATOR.username,
      SIM_PASSWORD: SIMULATOR.password,
      SIM_SEED: 'bench',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((done) => child.once('exit', done));
  const url = await new Promise<string>((done, fail) => {
    let buffered = '';
    child.once('exit', (code) => fail(new Error(`simulator exited (${code}):\n${stderr}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.includes('"ready"'));
      if (line) done((JSON.parse(line) as { url: string }).url);
    });
  });
  const auth = `Basic ${Buffer.from(`${SIMULATOR.username}:${SIMULATOR.password}`).toString('base64')}`;
  const control = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/__sim/${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`simulator control ${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    url,
    marketplace: await control<MarketplaceFixture>('GET', 'marketplace'),
    counts: () => control<OperationCounts>('GET', 'counts'),
    setLatency: async (op, ms) => void (await control('POST', 'latency', { op, ms })),
    resetCounts: async () => void (await control('POST', 'counts/reset', {})),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Stack {
  sim: BenchSimulator;
  db: TestDatabase;
  gateway: GatewayProcess & { rssMiB(): number };
  /** The session routes of the gateway. */
  api: SessionApi;
  /** Models an open by model succeeds on. */
  models: string[];
  /** `count` API keys, one local user each, made as the CLI makes them. */
  keys(count: number): Promise<TestKey[]>;
  stop(): Promise<void>;
}

/**
 * Simulator + fresh database + the gateway as production runs it, in its own process, with
 * its own defaults: `env` adds to (and overrides) the kit's gateway environment, whose rate
 * limit is out of reach so it never shapes the numbers. `simulatorProcess`: the simulator
 * in its own process. With `BENCH_CPU_PROF=<dir>` the gateway runs under `node --cpu-prof`
 * and writes a .cpuprofile there when it stops (summarise it with dist/bench/profile-summary.js).
 */
export async function startStack(env: Record<string, string> = {}, options: { simulatorProcess?: boolean } = {}): Promise<Stack> {
  const sim = options.simulatorProcess ? await simulatorProcess() : await inProcessSimulator();
  const db = await createTestDatabase('bench');
  const profileDir = process.env.BENCH_CPU_PROF;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  let gateway: GatewayProcess;
  try {
    gateway = await startGateway(gatewayEnv(db, sim, env, { testSettings: false }), {
      process: true,
      nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`] : [],
    });
  } catch (error) {
    await sim.stop();
    await db.drop();
    throw error;
  }
  return {
    sim,
    db,
    gateway: { ...gateway, rssMiB: () => rssMiB(gateway.pid) },
    api: sessionApi(gateway.url),
    models: openableModels(sim),
    keys: async (count) => {
      const store = await keyStore(db.url);
      try {
        return await someKeys(store, count);
      } finally {
        await store.close();
      }
    },
    stop: async () => {
      await gateway.stop();
      await sim.stop();
      await db.drop();
    },
  };
}

/** A model session for `key` (one hour), or an error naming the answer. */
export async function openSession(stack: Stack, key: Credential, modelId = stack.models[0]): Promise<string> {
  const created = await stack.api.createForModel(key, modelId, { body: { sessionDuration: 3600 } });
  if (created.status !== 200) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.session_id;
}

/** A process's resident set size, in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return Math.round((kib / 1024) * 10) / 10;
}

/** The gateway's /metrics, parsed into `name{labels}` → value. */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

export type RunResult = autocannon.Result;
export type RunOptions = autocannon.Options;

/** One autocannon run, quiet; resolves with its result. */
export function autocannonRun(options: RunOptions): Promise<RunResult> {
  return new Promise((done, fail) => {
    const instance = autocannon(options, (error, result) => (error ? fail(error) : done(result)));
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

/** Every request of a run with the next credential of `next()`. */
export function withEachRequest(next: () => string): Pick<RunOptions, 'requests'> {
  return {
    requests: [
      {
        setupRequest: (request) => {
          request.headers = { ...request.headers, authorization: `Bearer ${next()}` };
          return request;
        },
      },
    ],
  };
}

/** A table row of an autocannon result. */
export function resultRow(name: string, result: RunResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
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

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Prints `met` / `MISSED` for one target and returns whether it was met. */
export function target(description: string, met: boolean): boolean {
  console.log(`target ${met ? 'met   ' : 'MISSED'}: ${description}`);
  return met;
}

/**
 * The development issuer (dev/oidc/dev-issuer.mjs), as the e2e global setup starts it:
 * `oidcEnv()` then names it to the gateway. Tokens live an hour, longer than any run.
 */
export async function startIssuer(): Promise<DevIssuer & { gatewayEnv: Record<string, string> }> {
  const issuer = await startDevIssuer({ accessTokenTtlS: 3600 });
  Object.assign(process.env, testIssuerEnv(issuer));
  return Object.assign(issuer, { gatewayEnv: oidcEnv() });
}

/** A real JWT access token for `username`: the authorization code flow with PKCE through the issuer's login form. */
export async function loginForJwt(issuer: DevIssuer, username: string): Promise<string> {
  const tokens = await loginForTokens(
    { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
    { username, resource: issuer.audience },
  );
  return tokens.access_token;
}

/** Runs a bench's main, printing a failure and exiting non-zero. */
export function run(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
