import { Module, OnModuleInit } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthCoreModule } from '../auth/auth.module';
import { Readiness } from '../health/readiness';
import { RateLimitGuard } from './rate-limit.guard';
import { OpenRateLimit } from './open-limit';
import { RateLimiter } from './rate-limiter';

/** Imported after the auth module, so its guard runs after authentication. */
@Module({
  imports: [AuthCoreModule],
  providers: [RateLimiter, OpenRateLimit, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [OpenRateLimit],
})
export class RateLimitModule implements OnModuleInit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly readiness: Readiness,
  ) {}

  onModuleInit(): void {
    // Listed, never critical: without Redis the limiter fails open.
    this.readiness.register({
      name: 'redis',
      critical: false,
      check: async () => {
        const healthy = this.limiter.storeHealthy;
        if (healthy === undefined) return { status: 'not_configured' };
        return healthy ? { status: 'up' } : { status: 'down', detail: 'rate limits fail open' };
      },
    });
  }
}
