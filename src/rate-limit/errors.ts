import { DomainError } from '../common/errors';

export class RateLimitedError extends DomainError {
  readonly status = 429;
  readonly code = 'rate_limited';

  constructor(readonly retryAfterS: number) {
    super(`Rate limit exceeded: try again in ${retryAfterS} s`);
  }
}
