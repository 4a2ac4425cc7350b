import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** The repository: two levels up from here, or three when run compiled from dist/test/support (the benchmarks). */
export const ROOT = [resolve(__dirname, '../..'), resolve(__dirname, '../../..')].find((dir) => existsSync(resolve(dir, 'package.json')))!;

/**
 * Tests that run the built app (`node dist/...`): `npm test` builds first; a single file
 * run on a fresh checkout builds here.
 */
export function ensureBuilt(): void {
  if (existsSync(resolve(ROOT, 'dist/src/main.js')) && existsSync(resolve(ROOT, 'dist/src/cli.js'))) return;
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}${result.stderr}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface Spawned {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a node script of the project with the given environment (and options of node), capturing its output. */
export function spawnNode(script: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Spawned {
  const child = spawn(process.execPath, [...nodeArgs, resolve(ROOT, script), ...args], {
    cwd: ROOT,
    // MICROSERVICE_PORT 0: several gateways on one machine must not compete for the TCP port.
    env: { PATH: process.env.PATH ?? '', MICROSERVICE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `url` until it answers 200, or fails with the process's output. */
export async function waitForHttp(url: string, spawned: Spawned, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawned.child.exitCode !== null) throw new Error(`process exited (${spawned.child.exitCode}):\n${spawned.output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet: poll again
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${spawned.output()}`);
}
