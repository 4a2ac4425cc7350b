import { createParamDecorator, ExecutionContext } from '@nestjs/common';

export interface RawRequestInput {
  query: unknown;
  body: unknown;
}

/**
 * The request's query and body as received, for routes that validate them together
 * (`validateRequest`) so a 422 lists the problems of both.
 */
export const RawInput = createParamDecorator((_: unknown, context: ExecutionContext): RawRequestInput => {
  const request = context.switchToHttp().getRequest<{ query?: unknown; body?: unknown }>();
  return { query: request.query, body: request.body };
});
