import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (the `Retry-After` of a refusal). */
  retryAfterS: number;
}

const WINDOW_MS = 60_000;
/** A shared-store call that takes longer than this counts as failed: the request goes on. */
const STORE_TIMEOUT_MS = 250;

/**
 * RATE_LIMIT_PER_MIN per subject (an API key, or a user for user tokens) in fixed
 * one-minute windows. With REDIS_URL the counters are shared by every instance (INCR +
 * PEXPIRE in one round trip); without it each instance counts alone. A Redis outage fails
 * open — requests go on — and shows in readiness and metrics.
 */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly local = new LRUCache<string, { window: number; count: number }>({ max: 100_000, ttl: 2 * WINDOW_MS });
  private readonly redis?: Redis;
  private storeUp = true;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        lazyConnect: false,
        // Fail fast while disconnected instead of queueing: the limiter must never hold a request.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: STORE_TIMEOUT_MS,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      });
      this.redis.on('error', () => this.markStore(false));
      this.redis.on('ready', () => this.markStore(true));
      metrics.sourceRateLimitStore(() => this.storeUp);
    }
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  /** Whether the shared store answers (undefined: there is none). */
  get storeHealthy(): boolean | undefined {
    return this.redis ? this.storeUp && this.redis.status === 'ready' : undefined;
  }

  async consume(subject: string): Promise<RateDecision> {
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const retryAfterS = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    const count = this.redis ? await this.countShared(subject, window) : this.countLocal(subject, window);
    if (count === undefined) return { allowed: true, retryAfterS };
    return { allowed: count <= this.config.rateLimitPerMin, retryAfterS };
  }

  private countLocal(subject: string, window: number): number {
    const entry = this.local.get(subject);
    const next = entry && entry.window === window ? { window, count: entry.count + 1 } : { window, count: 1 };
    this.local.set(subject, next);
    return next.count;
  }

  /** undefined: the store failed, and the request is let through (fail open). */
  private async countShared(subject: string, window: number): Promise<number | undefined> {
    const key = `gateway:rl:${subject}:${window}`;
    try {
      const results = await this.redis!.multi()
        .incr(key)
        .pexpire(key, WINDOW_MS * 2)
        .exec();
      const count = results?.[0]?.[1];
      if (typeof count !== 'number') throw new Error('unexpected INCR answer');
      this.markStore(true);
      return count;
    } catch (error) {
      this.metrics.rateLimitStoreErrors.inc();
      this.markStore(false, error);
      return undefined;
    }
  }

  private markStore(up: boolean, error?: unknown): void {
    if (this.storeUp && !up) this.logger.warn({ err: error }, 'rate-limit store unavailable: failing open');
    if (!this.storeUp && up) this.logger.log('rate-limit store available again');
    this.storeUp = up;
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}
