import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyService } from '../auth/api-key.service';
import { principalOf } from '../auth/decorators';
import { Principal } from '../auth/principal';
import { RATE_LIMITED, RateLimitBudget, RateLimitedError } from '../common/rate-limits';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { Budget, RateLimiter } from './rate-limiter';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Runs after the auth guard (registered after it): the budgets of docs/API.md §7 "Rate limits". */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly keys: ApiKeyService,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const budget = this.reflector.getAllAndOverride<RateLimitBudget | undefined>(RATE_LIMITED, [context.getHandler(), context.getClass()]);
    if (!budget) return true;
    const principal = principalOf(context);
    if (!principal) return true; // unauthenticated routes are not limited here
    const budgets = budget === 'key-creations' ? this.keyCreations(principal) : await this.requests(principal);
    const decision = await this.limiter.consume(budgets);
    if (decision.allowed) return true;
    this.metrics.rateLimited.inc({ transport: context.getType() });
    throw new RateLimitedError(decision.retryAfterS);
  }

  /**
   * Per key — a user token counts as its user's default key, so a token is no second budget
   * (a user without keys has one budget for its tokens) — and per user, across every key and token.
   */
  private async requests(principal: Principal): Promise<Budget[]> {
    const keyId = principal.apiKeyId ?? (await this.keys.findDefaultCached(principal.userId))?.id;
    return [
      { subject: keyId ? `key:${keyId}` : `user-tokens:${principal.userId}`, limit: this.config.rateLimitPerMin, windowMs: MINUTE_MS },
      { subject: `user:${principal.userId}`, limit: this.config.userRateLimitPerMin, windowMs: MINUTE_MS },
    ];
  }

  /** Per user, counted on creation attempts: revoking a key gives none back. */
  private keyCreations(principal: Principal): Budget[] {
    return [{ subject: `key-creations:${principal.userId}`, limit: this.config.keyCreateLimitPerHour, windowMs: HOUR_MS }];
  }
}
