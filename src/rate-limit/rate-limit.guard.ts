import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RATE_LIMITED } from './rate-limited';
import { principalOf } from '../auth/decorators';
import { Metrics } from '../metrics/metrics';
import { RateLimitedError } from './errors';
import { RateLimiter } from './rate-limiter';

/** Runs after the auth guard (registered after it): limits are per key, or per user for user tokens. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.reflector.getAllAndOverride<boolean>(RATE_LIMITED, [context.getHandler(), context.getClass()])) return true;
    const principal = principalOf(context);
    if (!principal) return true; // unauthenticated routes are not limited here
    const subject = principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
    const decision = await this.limiter.consume(subject);
    if (decision.allowed) return true;
    this.metrics.rateLimited.inc({ transport: context.getType() });
    if (context.getType() === 'http') {
      context
        .switchToHttp()
        .getResponse<{ header(name: string, value: string): unknown }>()
        .header('Retry-After', String(decision.retryAfterS));
    }
    throw new RateLimitedError(decision.retryAfterS);
  }
}
