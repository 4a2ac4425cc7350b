import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { errorExample } from '../common/openapi';
import { RateLimitedError } from './errors';

export const RATE_LIMITED = 'rateLimited';

/** The handler counts against the caller's RATE_LIMIT_PER_MIN (enforced by the rate-limit guard). */
export const RateLimited = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMITED, true),
    ApiTooManyRequestsResponse({
      description: 'Rate limited (per API key; per user for user tokens). `Retry-After` says when to retry.',
      schema: errorExample(new RateLimitedError(42)),
    }),
  );
