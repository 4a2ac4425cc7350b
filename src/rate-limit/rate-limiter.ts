import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until one more would be allowed (the `Retry-After` of a refusal). */
  retryAfterS: number;
}

/** One budget a request draws from: `limit` per `windowMs`, counted per `subject`. */
export interface Budget {
  subject: string;
  limit: number;
  windowMs: number;
}

/** Milliseconds since the epoch; injectable so tests can move time without waiting. */
export type Clock = () => number;
export const RATE_LIMIT_CLOCK = Symbol('RATE_LIMIT_CLOCK');

/** A shared-store call that takes longer than this counts as failed: the request goes on. */
const STORE_TIMEOUT_MS = 250;

/**
 * The two-bucket sliding window: the previous fixed window's count weighs by how much of it
 * still lies within the last `windowMs`. Returns 0 when one more fits, else the milliseconds
 * until it would. Mirrored by {@link SLIDING_WINDOW_LUA}: keep the two in step.
 */
export function slidingWait(limit: number, windowMs: number, intoWindowMs: number, current: number, previous: number): number {
  const estimate = (previous * (windowMs - intoWindowMs)) / windowMs + current;
  if (estimate + 1 <= limit) return 0;
  if (current + 1 <= limit && previous > 0) {
    // Within this window, once enough of the previous one has slid out.
    const at = windowMs - ((limit - current - 1) * windowMs) / previous;
    return Math.max(1, Math.ceil(at - intoWindowMs));
  }
  // Not before the next window, where this one's count is the previous one.
  const at = current > 0 ? windowMs - ((limit - 1) * windowMs) / current : 0;
  return Math.max(1, Math.ceil(windowMs - intoWindowMs + Math.max(0, at)));
}

/**
 * KEYS: per budget, its current and previous window's counters. ARGV: per budget, limit,
 * window length and how far into the window "now" is. Either every budget has room and each
 * counts one, or none counts and the answer is the longest wait (ms). One script: atomic.
 */
const SLIDING_WINDOW_LUA = `
local wait = 0
for i = 1, #KEYS / 2 do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local into = tonumber(ARGV[3 * i])
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local this = 0
  if previous * (window - into) / window + current + 1 > limit then
    if current + 1 <= limit and previous > 0 then
      this = math.max(1, math.ceil(window - (limit - current - 1) * window / previous - into))
    else
      local at = 0
      if current > 0 then at = math.max(0, window - (limit - 1) * window / current) end
      this = math.max(1, math.ceil(window - into + at))
    end
  end
  if this > wait then wait = this end
end
if wait > 0 then return wait end
for i = 1, #KEYS / 2 do
  redis.call('INCR', KEYS[2 * i - 1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], 2 * tonumber(ARGV[3 * i - 1]))
end
return 0
`;

/** Redis with the script defined as a command: ioredis sends it by SHA (EVALSHA), the source only once. */
type SlidingWindowRedis = Redis & {
  slidingWindow(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
};

interface LocalCount {
  window: number;
  current: number;
  previous: number;
}

/**
 * Sliding-window budgets (docs/API.md §7 "Rate limits"): a request is let through only if
 * every budget it draws from has room, and then counts in each; a refusal counts in none, so
 * a refused burst does not push the window further. With REDIS_URL the counters are shared
 * by every instance (one Lua script, atomic); without it each instance counts alone. A Redis
 * outage fails open — requests go on — and shows in readiness and metrics.
 */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly local = new LRUCache<string, LocalCount>({ max: 100_000, ttl: 2 * 3_600_000 });
  private readonly redis?: SlidingWindowRedis;
  private storeUp = true;
  private readonly now: Clock;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Optional() @Inject(RATE_LIMIT_CLOCK) clock?: Clock,
  ) {
    this.now = clock ?? Date.now;
    if (config.redisUrl) {
      const redis = new Redis(config.redisUrl, {
        lazyConnect: false,
        // Fail fast while disconnected instead of queueing: the limiter must never hold a request.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: STORE_TIMEOUT_MS,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      });
      redis.defineCommand('slidingWindow', { lua: SLIDING_WINDOW_LUA });
      this.redis = redis as SlidingWindowRedis;
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

  /** Resolves once a shared store is ready (tests; the limiter itself never waits). */
  async ready(): Promise<void> {
    if (!this.redis || this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => this.redis!.once('ready', () => resolve()));
  }

  async consume(budgets: Budget[]): Promise<RateDecision> {
    const now = this.now();
    const waitMs = this.redis ? await this.consumeShared(budgets, now) : this.consumeLocal(budgets, now);
    if (waitMs === undefined || waitMs === 0) return { allowed: true, retryAfterS: 0 };
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private consumeLocal(budgets: Budget[], now: number): number {
    const counts = budgets.map((budget) => {
      const window = Math.floor(now / budget.windowMs);
      const entry = this.local.get(localKey(budget));
      const count: LocalCount =
        entry?.window === window ? { ...entry } : { window, current: 0, previous: entry?.window === window - 1 ? entry.current : 0 };
      return {
        budget,
        count,
        wait: slidingWait(budget.limit, budget.windowMs, now - window * budget.windowMs, count.current, count.previous),
      };
    });
    const wait = Math.max(0, ...counts.map((c) => c.wait));
    if (wait > 0) return wait;
    for (const { budget, count } of counts) {
      this.local.set(localKey(budget), { ...count, current: count.current + 1 }, { ttl: 2 * budget.windowMs });
    }
    return 0;
  }

  /** undefined: the store failed, and the request is let through (fail open). */
  private async consumeShared(budgets: Budget[], now: number): Promise<number | undefined> {
    const keys: string[] = [];
    const args: number[] = [];
    for (const budget of budgets) {
      const window = Math.floor(now / budget.windowMs);
      const base = `gateway:rl:${budget.subject}:${budget.windowMs}`;
      keys.push(`${base}:${window}`, `${base}:${window - 1}`);
      args.push(budget.limit, budget.windowMs, now - window * budget.windowMs);
    }
    try {
      const answer = await this.redis!.slidingWindow(keys.length, ...keys, ...args);
      if (typeof answer !== 'number') throw new Error('unexpected rate-limit script answer');
      this.markStore(true);
      return answer;
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

const localKey = (budget: Budget): string => `${budget.subject}:${budget.windowMs}`;
