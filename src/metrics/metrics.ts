import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type Source<T> = () => T | Promise<T>;

const CIRCUIT_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The gateway's Prometheus series (docs/API.md §8), in a registry of its own per application
 * (tests run several apps in one process). Modules record into it; gauges read their
 * owners' state at scrape time through the sources those owners register.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status, with latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly providerCalls = new Histogram({
    name: 'gateway_proxy_router_call_duration_seconds',
    help: 'Proxy-router calls by operation and outcome (ok or the error code), with latency',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
    registers: [this.registry],
  });

  readonly opens = new Counter({
    name: 'gateway_session_opens_total',
    help: 'Session creates by outcome: opened, reused, coalesced, failed, adopted, unknown',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Refused credentials by scheme and reason',
    labelNames: ['scheme', 'reason'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests and messages refused with 429',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });

  readonly rateLimitStoreErrors = new Counter({
    name: 'gateway_rate_limit_store_errors_total',
    help: 'Rate-limit checks that could not reach Redis and failed open',
    registers: [this.registry],
  });

  private sessionCounts?: Source<Record<string, number>>;
  private circuit?: Source<keyof typeof CIRCUIT_VALUE>;
  private unmatched?: Source<number>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_' });
    // prom-client calls collect() with the gauge as `this`: the sources are read through closures.
    const sessionCounts = () => this.sessionCounts?.();
    const circuit = () => this.circuit?.();
    const unmatched = () => this.unmatched?.();
    new Gauge({
      name: 'gateway_sessions',
      help: 'Sessions in the database by status, as of the last sweep',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries((await sessionCounts()) ?? {})) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'gateway_proxy_router_circuit_state',
      help: 'Proxy-router circuit breaker: 0 closed, 1 half-open, 2 open',
      registers: [this.registry],
      async collect() {
        this.set(CIRCUIT_VALUE[(await circuit()) ?? 'closed']);
      },
    });
    new Gauge({
      name: 'gateway_unmatched_wallet_sessions',
      help: "Open sessions of the node's wallet that no gateway row owns (as of the last sweep)",
      registers: [this.registry],
      async collect() {
        this.set((await unmatched()) ?? 0);
      },
    });
  }

  sourceSessionCounts(source: Source<Record<string, number>>): void {
    this.sessionCounts = source;
  }

  sourceCircuit(source: Source<keyof typeof CIRCUIT_VALUE>): void {
    this.circuit = source;
  }

  sourceUnmatchedWalletSessions(source: Source<number>): void {
    this.unmatched = source;
  }

  /** Registered only when there is a shared store: without REDIS_URL the series is absent, not 0. */
  sourceRateLimitStore(source: Source<boolean | undefined>): void {
    new Gauge({
      name: 'gateway_rate_limit_store_up',
      help: 'Whether the shared rate-limit store (Redis) answered its last call (1) or not (0)',
      registers: [this.registry],
      async collect() {
        this.set((await source()) ? 1 : 0);
      },
    });
  }
}
