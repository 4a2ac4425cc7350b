import { LimitedBy } from '../common/rate-limits';

export { RATE_LIMITED } from '../common/rate-limits';

/** The handler counts against the caller's per-key and per-user budgets (enforced by the rate-limit guard). */
export const RateLimited = (): MethodDecorator & ClassDecorator =>
  LimitedBy(
    'requests',
    'Rate limited (per API key — a user token counts as its default key — and per user). `Retry-After` says when to retry.',
  );
