import type { ValidationIssueType } from './errors';

/** Schema + example of a `{"detail": "..."}` answer, for Swagger. */
export function detailExample(detail: string) {
  return { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'], example: { detail } };
}

/** Schema + example of a 422 answer. */
export function validationExample(loc: (string | number)[], type: ValidationIssueType, msg: string) {
  return {
    type: 'object',
    properties: {
      detail: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            loc: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } },
            msg: { type: 'string' },
            type: { type: 'string' },
          },
        },
      },
    },
    example: { detail: [{ loc, msg, type }] },
  };
}
