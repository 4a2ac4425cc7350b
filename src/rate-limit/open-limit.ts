import { Inject, Injectable } from '@nestjs/common';
import { RateLimitedError } from '../common/rate-limits';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { RateLimiter } from './rate-limiter';

/** OPEN_RATE_LIMIT_PER_MIN: session opens per key, for the opener to draw on when it decides to open (docs/API.md §7). */
@Injectable()
export class OpenRateLimit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  /** Counts one open for the key, or throws 429 `rate_limited` (nothing counted). */
  async consume(apiKeyId: string): Promise<void> {
    const decision = await this.limiter.consume([
      { subject: `opens:${apiKeyId}`, limit: this.config.openRateLimitPerMin, windowMs: 60_000 },
    ]);
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterS);
  }
}
