import { BadRequestException, NotFoundException } from '@nestjs/common';
import { toApiError } from './api-error';
import { ConflictError, RequestValidationError } from './errors';

describe('toApiError', () => {
  it("keeps a domain error's status and detail", () => {
    expect(toApiError(new ConflictError('busy'))).toEqual({ status: 409, body: { detail: 'busy' }, unexpected: false });
  });

  it('answers validation errors with the issue list', () => {
    const issues = [{ loc: ['body'], msg: 'Field required', type: 'missing' as const }];
    expect(toApiError(new RequestValidationError(issues)).body).toEqual({ detail: issues });
  });

  it('hides the message of an unexpected error', () => {
    const error = toApiError(new Error('SELECT * FROM secrets failed at 10.0.0.5'));
    expect(error).toEqual({ status: 500, body: { detail: 'Internal server error' }, unexpected: true });
  });

  it('replaces framework wording for unknown routes', () => {
    expect(toApiError(new NotFoundException('Cannot GET /x')).body).toEqual({ detail: 'Not Found' });
    expect(toApiError(new BadRequestException('nope')).body).toEqual({ detail: 'nope' });
  });

  it('maps Fastify errors that reach it unwrapped', () => {
    const tooLarge = Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(toApiError(tooLarge)).toMatchObject({ status: 413, body: { detail: 'Request body too large (limit 64 KiB)' } });
    const empty = Object.assign(new Error('empty'), { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 });
    expect(toApiError(empty)).toMatchObject({ status: 422, body: { detail: [{ loc: ['body'], type: 'missing' }] } });
  });
});
