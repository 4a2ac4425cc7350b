import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, Pool } from 'undici';
import type { ProxyRouterEndpoint } from './proxy-router.endpoint';

/** One HTTP call to the node, described without its address or credentials. */
export interface NodeRequest {
  /** A name for logs and metrics ("models", "openModel", …). */
  operation: string;
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/blockchain/models?limit=100&offset=0`. */
  path: string;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** The node's answer, whatever its status: any answer proves the node is up. */
export interface NodeAnswer {
  status: number;
  text: string;
}

/** How a call failed to get an answer. */
export type TransportFailureKind =
  /** No connection was made: nothing reached the node. */
  | 'refused'
  /** The connection broke after the request may have been sent. */
  | 'lost'
  /** No answer before the operation's deadline. */
  | 'timeout';

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * No answer from the node. Carries only a kind and a system error code (ECONNREFUSED…):
 * the underlying error's message names the node's host, so it is not kept.
 */
export class TransportFailure extends Error {
  override readonly name = 'TransportFailure';

  constructor(
    readonly kind: TransportFailureKind,
    readonly errorCode: string | undefined,
    /** Whether the circuit breaker should count it (a ping's deadline says nothing about the node). */
    readonly countsForBreaker: boolean,
  ) {
    super(`proxy-router ${kind}${errorCode ? ` (${errorCode})` : ''}`);
  }
}

/** The abort reason of an operation's own deadline. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';

  constructor(readonly countsForBreaker = true) {
    super('deadline exceeded');
  }
}

export function toTransportFailure(error: unknown, signal: AbortSignal): TransportFailure {
  if (signal.aborted && signal.reason instanceof DeadlineExceeded) {
    return new TransportFailure('timeout', undefined, signal.reason.countsForBreaker);
  }
  // Structural, not `instanceof Error`: socket errors can come from another realm (jest's vm).
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return new TransportFailure(code && NOT_CONNECTED.has(code) ? 'refused' : 'lost', code, true);
}

/** Runs `work` with a signal that aborts after `ms` with a {@link DeadlineExceeded} reason. */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, countsForBreaker = true): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceeded(countsForBreaker)), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Keep-alive HTTP to one node; every call is bounded by the caller's signal. */
export class NodeTransport {
  private readonly pool: Pool;

  constructor(
    private readonly endpoint: ProxyRouterEndpoint,
    connections: number | null,
  ) {
    // Deadlines are the callers' signals (per operation); undici's own timers would cut an
    // on-chain open (minutes) short, so they are off.
    this.pool = new Pool(endpoint.origin, { connections, keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Sends and reads the whole answer. Throws {@link TransportFailure} when there is none. */
  async send(request: NodeRequest, signal: AbortSignal): Promise<NodeAnswer> {
    const response = await this.open(request, signal);
    try {
      return { status: response.statusCode, text: await response.body.text() };
    } catch (error) {
      throw toTransportFailure(error, signal);
    }
  }

  /** Sends and returns as soon as the headers arrive (the caller reads or drops the body). */
  async open(request: NodeRequest, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    if (signal.aborted) throw toTransportFailure(signal.reason, signal);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (this.endpoint.authorization) headers.authorization = this.endpoint.authorization;
    if (request.body) headers['content-type'] = 'application/json';
    try {
      return await this.pool.request({
        path: `${this.endpoint.basePath}${request.path}`,
        method: request.method,
        headers,
        body: request.body ? JSON.stringify(request.body) : undefined,
        signal,
      });
    } catch (error) {
      throw toTransportFailure(error, signal);
    }
  }

  /** Lets calls in flight finish for a while (every call has its own deadline), then drops them. */
  async close(graceMs: number): Promise<void> {
    const drained = this.pool.close().then(() => true);
    const settled = await Promise.race([drained, sleep(graceMs, false, { ref: false })]);
    if (!settled) await this.pool.destroy();
  }
}
