import { toApiError } from './api-error';
import { DomainError, RequestValidationError, ValidationIssueType } from './errors';

/** The OpenAI-style object beside `detail` (docs/API.md §1). */
const ERROR_OBJECT = {
  type: 'object',
  required: ['message', 'type', 'param', 'code'],
  properties: {
    message: { type: 'string' },
    type: {
      type: 'string',
      enum: ['invalid_request_error', 'authentication_error', 'insufficient_quota', 'permission_error', 'rate_limit_error', 'api_error'],
    },
    param: { type: 'string', nullable: true },
    code: { type: 'string' },
  },
};

const ISSUES = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      loc: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } },
      msg: { type: 'string' },
      type: { type: 'string' },
    },
  },
};

/**
 * Schema + example of an error answer for Swagger, built from the error the route really
 * raises and through the filter's own mapping: the example cannot drift from the answer.
 */
export function errorExample(error: DomainError) {
  return {
    type: 'object',
    required: ['detail', 'error'],
    properties: { detail: error instanceof RequestValidationError ? ISSUES : { type: 'string' }, error: ERROR_OBJECT },
    example: toApiError(error).body,
  };
}

/** Schema + example of a 422 answer with one issue. */
export function validationExample(loc: (string | number)[], type: ValidationIssueType, msg: string) {
  return errorExample(new RequestValidationError([{ loc, msg, type }]));
}
