/**
 * Helpers of the messaging suites (docs/API.md §6): a private nats-server per test file, the
 * typed client of src/client in a tiny Nest context, raw event subscriptions, and probes.
 *
 * Why a private server: every gateway subscribes in the queue group `session-gateway`. On
 * the machine's shared NATS (127.0.0.1:4222) a request from one test file could be answered
 * by the gateway of ANOTHER test file running in another jest worker. Each file therefore
 * runs its own nats-server (no JetStream) on a free loopback port.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { connect, type ConnectionOptions, JSONCodec, type NatsConnection, type Subscription } from 'nats';
import {
  SessionGatewayClient,
  SessionGatewayClientModule,
  type SessionGatewayClientOptions,
  SessionGatewayError,
} from '../../src/client/session-gateway.client';
import { freePort } from './process';

export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BINARY ?? '/usr/sbin/nats-server';

export interface NatsServer {
  url: string;
  port: number;
  readonly running: boolean;
  /** Starts it (on the same port every time) and waits until it greets a client. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and waits until it has exited. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Everything the server printed, for failure messages. */
  output(): string;
}

/** Children still running when the worker exits are killed (a failed afterAll must not leak them). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Resolves once something listening on the port sends NATS's `INFO` greeting. */
function greets(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    let received = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.startsWith('INFO ')) finish(true);
    });
  });
}

/** How a private server runs beyond its port: a configuration file's text and its environment. */
export interface NatsServerSetup {
  /** nats-server configuration (authorization, tls…); `-a`/`-p` on the command line still pick address and port. */
  config?: string;
  /** Variables the configuration refers to (`$NAME`), e.g. passwords. */
  env?: Record<string, string>;
}

/** A nats-server handle on a free port (or `port`), NOT started yet. */
export async function natsServer(port?: number, setup: NatsServerSetup = {}): Promise<NatsServer> {
  const chosen = port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(chosen)];
  if (setup.config !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'nats-server-')), 'nats.conf');
    writeFileSync(file, setup.config);
    args.unshift('-c', file);
  }
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async () => {
    if (running()) return;
    const started = spawn(NATS_SERVER_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...setup.env } });
    child = started;
    live.add(started);
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((done) =>
      started.once('exit', () => {
        live.delete(started);
        done();
      }),
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!running()) throw new Error(`nats-server exited on port ${chosen}:\n${output}`);
      if (await greets(chosen)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`nats-server did not accept connections on port ${chosen} within 10 s:\n${output}`);
  };

  const stop = async () => {
    if (!child || !running()) return;
    const stopping = child;
    const killer = setTimeout(() => stopping.kill('SIGKILL'), 5_000);
    stopping.kill('SIGTERM');
    await exited;
    clearTimeout(killer);
  };

  return {
    url: `nats://127.0.0.1:${chosen}`,
    port: chosen,
    get running() {
      return running();
    },
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    output: () => output,
  };
}

/** A private nats-server, started. */
export async function startNatsServer(port?: number, setup?: NatsServerSetup): Promise<NatsServer> {
  const server = await natsServer(port, setup);
  await server.start();
  return server;
}

export interface GatewayClientHandle {
  client: SessionGatewayClient;
  close(): Promise<void>;
}

/**
 * The typed client exactly as the README shows it: a Nest application context importing
 * `SessionGatewayClientModule.register(...)`, then `ctx.get(SessionGatewayClient)`.
 */
export async function gatewayClient(options: SessionGatewayClientOptions): Promise<GatewayClientHandle> {
  const ctx = await NestFactory.createApplicationContext(SessionGatewayClientModule.register(options), { logger: false });
  return { client: ctx.get(SessionGatewayClient), close: () => ctx.close() };
}

/** What a failed typed call threw, as `{status, detail}`; fails if the call succeeded or threw something else. */
export async function gatewayError(call: Promise<unknown>): Promise<{ status: number; detail: unknown }> {
  let value: unknown;
  try {
    value = await call;
  } catch (error) {
    if (!(error instanceof SessionGatewayError)) throw new Error(`expected a SessionGatewayError, got ${String(error)}`, { cause: error });
    return { status: error.status, detail: error.detail };
  }
  throw new Error(`expected a SessionGatewayError, got the reply ${JSON.stringify(value)}`);
}

/** A message exactly as it travelled on NATS, decoded as JSON. */
export interface RawNatsMessage {
  subject: string;
  body: unknown;
}

export interface RawSubscription {
  messages: RawNatsMessage[];
  /** Resolves when at least `count` messages matching `filter` have arrived (fails after `timeoutMs`). */
  waitFor(count: number, filter?: (m: RawNatsMessage) => boolean, timeoutMs?: number): Promise<RawNatsMessage[]>;
  close(): Promise<void>;
}

const json = JSONCodec();

/** A plain `nats` connection (no Nest) recording every message on `subject` (wildcards allowed). */
export async function rawSubscribe(
  url: string,
  subject: string,
  options: Omit<ConnectionOptions, 'servers'> = {},
): Promise<RawSubscription> {
  const nc: NatsConnection = await connect({ ...options, servers: [url] });
  const messages: RawNatsMessage[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error) return;
      let body: unknown;
      try {
        body = json.decode(msg.data);
      } catch {
        body = new TextDecoder().decode(msg.data);
      }
      messages.push({ subject: msg.subject, body });
    },
  });
  // The SUB has reached the server once a round trip completed: nothing published after this is missed.
  await nc.flush();
  return {
    messages,
    waitFor: async (count, filter = () => true, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = messages.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${count} message(s) on ${subject}; got ${JSON.stringify(messages)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: async () => {
      sub.unsubscribe();
      await nc.close();
    },
  };
}

/** Polls `GET /health/ready` until `components.nats.status` is `wanted`; returns the last answer. */
export async function waitForNatsStatus(
  appUrl: string,
  wanted: 'up' | 'down',
  timeoutMs = 10_000,
): Promise<{ status: number; body: { status: string; components: Record<string, { status: string; detail?: string }> } }> {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: any } | undefined;
  for (;;) {
    const response = await fetch(`${appUrl}/health/ready`);
    last = { status: response.status, body: await response.json() };
    if (last.body?.components?.nats?.status === wanted) return last;
    if (Date.now() > deadline) throw new Error(`readiness never showed nats ${wanted} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Retries `call` until it resolves (a gateway that just connected may not have its
 * subscriptions registered at the server yet); fails with the last error after `timeoutMs`.
 */
export async function untilAnswered<T>(call: () => Promise<T>, timeoutMs = 10_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
