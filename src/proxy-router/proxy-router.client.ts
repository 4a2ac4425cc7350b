import type { LoggerService } from '@nestjs/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  RetryPolicy,
} from 'cockatiel';
import type { Dispatcher } from 'undici';
import { ProviderCircuitOpenError, ProviderTimeoutError, ProviderUnreachableError } from './errors';
import { isRetryableAnswer } from './node-errors';
import { errorMessageFromBody } from './proxy-router.wire';
import type { ProxyRouterEndpoint } from './proxy-router.endpoint';
import { type NodeAnswer, type NodeRequest, NodeTransport, toTransportFailure, TransportFailure, withDeadline } from './transport';

/** Resilience knobs. Production uses the defaults; tests make them small. */
export interface ResilienceOptions {
  /** Consecutive transport failures (refused, lost, timed out) that open the circuit. */
  breakerThreshold?: number;
  /** How long an open circuit refuses calls before letting one through as a test. */
  halfOpenAfterMs?: number;
  /** Extra attempts of a read after a transport failure or an unexplained 5xx. */
  readRetries?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Deadline of the readiness probe (`GET /healthcheck`). */
  healthTimeoutMs?: number;
  /** Connections to the node (null: as many as needed — an open holds one for minutes). */
  connections?: number | null;
}

export const DEFAULT_RESILIENCE: Required<ResilienceOptions> = {
  breakerThreshold: 5,
  halfOpenAfterMs: 10_000,
  readRetries: 2,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 1_000,
  // Under the readiness endpoint's own 2 s bound, so the probe reports its own reason.
  healthTimeoutMs: 1_500,
  connections: null,
};

export interface Deadlines {
  /** PROXY_ROUTER_TIMEOUT_MS: one read, retries included. */
  readMs: number;
  /** SESSION_OPEN_TIMEOUT_MS: one open or close on chain. */
  writeMs: number;
}

export type CircuitStatus = 'closed' | 'open' | 'half_open';

const CLOSE_GRACE_MS = 5_000;

/**
 * HTTP to the proxy-router with the resilience rules of docs/DESIGN.md "The node adapter": per-operation
 * deadlines; reads retried with jittered exponential backoff; writes sent exactly once; a
 * circuit breaker that counts transport failures only (any answer, even a 500, proves the
 * node is up). Answers are returned whatever their status — the adapter interprets them.
 */
export class ProxyRouterClient {
  private readonly transport: NodeTransport;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly readRetry: RetryPolicy;
  private readonly options: Required<ResilienceOptions>;

  constructor(
    endpoint: ProxyRouterEndpoint,
    private readonly deadlines: Deadlines,
    private readonly logger: Pick<LoggerService, 'warn'>,
    options: ResilienceOptions = {},
  ) {
    this.options = { ...DEFAULT_RESILIENCE, ...options };
    this.transport = new NodeTransport(endpoint, this.options.connections);
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof TransportFailure && error.countsForBreaker),
      { halfOpenAfter: this.options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.options.breakerThreshold) },
    );
    this.breaker.onBreak(() => {
      this.logger.warn({ circuit: 'open' }, 'proxy-router circuit opened');
    });
    this.breaker.onReset(() => {
      this.logger.warn({ circuit: 'closed' }, 'proxy-router circuit closed');
    });
    this.readRetry = retry(
      // A deadline that has passed is not retried: PROXY_ROUTER_TIMEOUT_MS bounds the read as a whole.
      handleWhen((error) => error instanceof TransportFailure && error.kind !== 'timeout').orWhenResult(
        (answer) => isNodeAnswer(answer) && isRetryableAnswer(answer.status, errorMessageFromBody(answer.text)),
      ),
      {
        maxAttempts: this.options.readRetries,
        backoff: new ExponentialBackoff({ initialDelay: this.options.retryInitialDelayMs, maxDelay: this.options.retryMaxDelayMs }),
      },
    );
  }

  /** An idempotent read: retried, bounded by PROXY_ROUTER_TIMEOUT_MS as a whole. */
  async read(request: NodeRequest): Promise<NodeAnswer> {
    return withDeadline(this.deadlines.readMs, async (signal) => {
      try {
        return await this.readRetry.execute(() => this.guarded(request, signal), signal);
      } catch (error) {
        throw this.unavailable(request, error);
      }
    });
  }

  /**
   * An on-chain write (open, close): sent once, bounded by SESSION_OPEN_TIMEOUT_MS.
   * Transport failures are left as {@link TransportFailure}s: only the caller knows
   * whether the write may have landed.
   */
  async write(request: NodeRequest): Promise<NodeAnswer> {
    return withDeadline(this.deadlines.writeMs, async (signal) => {
      try {
        return await this.guarded(request, signal);
      } catch (error) {
        throw error instanceof BrokenCircuitError ? new ProviderCircuitOpenError().withLogFields({ operation: request.operation }) : error;
      }
    });
  }

  /**
   * Sends through the breaker and returns at the answer's headers (the caller reads or
   * drops the body). `signal` is the caller's: a deadline aborting it with
   * `new DeadlineExceeded(false)` is not counted by the breaker.
   */
  async stream(request: NodeRequest, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await this.breaker.execute(() => this.transport.open(request, signal));
    } catch (error) {
      throw this.unavailable(request, error);
    }
  }

  /**
   * The readiness probe: straight to the node, past the breaker and without retries, so
   * that probes neither trip the circuit nor take its half-open trial, and readiness
   * shows the node's real state even while the circuit is open.
   */
  async probe(request: NodeRequest): Promise<NodeAnswer> {
    return withDeadline(this.options.healthTimeoutMs, async (signal) => {
      try {
        return await this.transport.send(request, signal);
      } catch (error) {
        throw this.unavailable(request, error);
      }
    });
  }

  get circuit(): CircuitStatus {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return 'closed';
    return state === CircuitState.HalfOpen ? 'half_open' : 'open';
  }

  async close(): Promise<void> {
    await this.transport.close(CLOSE_GRACE_MS);
  }

  /** The breaker's closure keeps our own signal: cockatiel drops it on its half-open path. */
  private guarded(request: NodeRequest, signal: AbortSignal): Promise<NodeAnswer> {
    // A deadline that passed during a retry's backoff sent nothing: not the breaker's business.
    if (signal.aborted) return Promise.reject(toTransportFailure(signal.reason, signal));
    return this.breaker.execute(() => this.transport.send(request, signal));
  }

  /**
   * Maps "no answer" to the caller's error, carrying what the log line of whoever handles
   * it needs; anything else is a bug and passes through. Nothing is logged here: whoever
   * handles the failure logs it, once.
   */
  private unavailable(request: NodeRequest, error: unknown): unknown {
    if (error instanceof BrokenCircuitError)
      return new ProviderCircuitOpenError().withLogFields({ operation: request.operation, circuit: 'open' });
    if (!(error instanceof TransportFailure)) return error;
    const failed = error.kind === 'timeout' ? new ProviderTimeoutError() : new ProviderUnreachableError();
    return failed.withLogFields(this.failureFields(request, error));
  }

  /** A call that got no answer, for a log line: its kind and system code, never the address. */
  failureFields(request: NodeRequest, failure: TransportFailure): Record<string, unknown> {
    return { operation: request.operation, failure: failure.kind, errorCode: failure.errorCode, circuit: this.circuit };
  }
}

function isNodeAnswer(value: unknown): value is NodeAnswer {
  return typeof value === 'object' && value !== null && 'status' in value && typeof value.status === 'number';
}
