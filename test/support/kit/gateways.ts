import { SessionSweeper } from '../../../src/session/session-sweeper';
import { startTestApp, type TestApp } from '../app';
import { freePort, type Spawned, spawnNode, waitForHttp } from '../process';

/** In this process (the default): the real app as production builds it, with its Nest container at hand. */
export type InProcessOptions = NonNullable<Parameters<typeof startTestApp>[1]> & { process?: false };

/** As its own process: `node dist/src/main.js` (build first; see ensureBuilt). */
export interface ProcessOptions {
  process: true;
  /** Default: a free one; a restart passes the port it had. */
  port?: number;
  /** Options of node itself, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

export interface GatewayProcess {
  url: string;
  port: number;
  pid: number;
  spawned: Spawned;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A gateway with this environment, answering `GET /health`, in this process or as its own. */
export function startGateway(env: Record<string, string>, options?: InProcessOptions): Promise<TestApp>;
export function startGateway(env: Record<string, string>, options: ProcessOptions): Promise<GatewayProcess>;
export async function startGateway(
  env: Record<string, string>,
  options: InProcessOptions | ProcessOptions = {},
): Promise<TestApp | GatewayProcess> {
  if (!options.process) {
    const { process: _, ...appOptions } = options;
    return startTestApp(env, appOptions);
  }
  const port = options.port ?? (await freePort());
  const spawned = spawnNode('dist/src/main.js', [], { ...env, HOST: '127.0.0.1', PORT: String(port) }, options.nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, spawned, 30_000);
  return { url, port, pid: spawned.child.pid!, spawned, stop: (signal) => spawned.stop(signal) };
}

/**
 * Lets the start-up sweep finish (it calls the node), so that a test's simulator counts
 * are its own: with SESSION_SWEEP_INTERVAL_S an hour, no other sweep runs on its own.
 */
export async function settleBackground(app: TestApp): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await app.app.get(SessionSweeper).sweep();
}
