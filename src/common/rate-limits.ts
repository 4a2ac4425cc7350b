import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { DomainError } from './errors';
import { errorExample } from './openapi';

export class RateLimitedError extends DomainError {
  readonly status = 429;
  readonly code = 'rate_limited';

  constructor(readonly retryAfterS: number) {
    super(`Rate limit exceeded: try again in ${retryAfterS} s`);
  }
}

/** The metadata the rate-limit guard reads: which budget a handler draws from. */
export const RATE_LIMITED = 'rateLimited';

/**
 * `requests`: the caller's per-key and per-user budgets (RATE_LIMIT_PER_MIN,
 * USER_RATE_LIMIT_PER_MIN); `key-creations`: the user's KEY_CREATE_LIMIT_PER_HOUR.
 * Here, in a shared kernel, because the auth room marks its key creation and the rate-limit
 * room (which reads principals from auth) enforces it: neither imports the other's inside.
 */
export type RateLimitBudget = 'requests' | 'key-creations';

export const LimitedBy = (budget: RateLimitBudget, description: string): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMITED, budget),
    ApiTooManyRequestsResponse({ description, schema: errorExample(new RateLimitedError(42)) }),
  );
