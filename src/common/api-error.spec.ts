import { BadRequestException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { errorTypeFor, toApiError, toRpcError } from './api-error';
import { ConflictError, failureLogFields, ForbiddenError, RequestValidationError, UnauthorizedError } from './errors';
import { errorExample } from './openapi';

const fastifyError = (code: string, statusCode: number, message = '') => Object.assign(new Error(message), { code, statusCode });

describe('toApiError', () => {
  it("keeps a domain error's status and detail and adds the OpenAI object with its code", () => {
    expect(toApiError(new ConflictError('busy'))).toEqual({
      status: 409,
      code: 'conflict',
      body: { detail: 'busy', error: { message: 'busy', type: 'invalid_request_error', param: null, code: 'conflict' } },
      unexpected: false,
    });
  });

  it("a foreign error carrying a 4xx statusCode (a client's aborted upload) is that client error, not a bug; a 5xx one stays a 500", () => {
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(toApiError(aborted)).toMatchObject({ status: 400, code: 'bad_request', unexpected: false });
    expect(toApiError(Object.assign(new Error('gone'), { statusCode: 503 }))).toMatchObject({ status: 500, unexpected: true });
    expect(toApiError(Object.assign(new Error('odd'), { statusCode: '400' }))).toMatchObject({ status: 500, unexpected: true });
  });

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [402, 'insufficient_quota'],
    [403, 'permission_error'],
    [404, 'invalid_request_error'],
    [409, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [422, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'api_error'],
    [504, 'api_error'],
  ])('status %i has the OpenAI type %s', (status, type) => {
    expect(errorTypeFor(status)).toBe(type);
  });

  it('takes the types from the status for the base classes too', () => {
    expect(toApiError(new UnauthorizedError('no')).body.error).toEqual({
      message: 'no',
      type: 'authentication_error',
      param: null,
      code: 'invalid_credentials',
    });
    expect(toApiError(new ForbiddenError('no')).body.error).toMatchObject({ type: 'permission_error', code: 'forbidden' });
  });

  it("answers a 422 with the issue list; the OpenAI message and param are the first issue's", () => {
    const issues = [
      { loc: ['body', 'sessionDuration'], msg: 'Input should be greater than or equal to 300', type: 'greater_than_equal' as const },
      { loc: ['query', 'model_id'], msg: 'Field required', type: 'missing' as const },
    ];
    expect(toApiError(new RequestValidationError(issues))).toEqual({
      status: 422,
      code: 'validation_error',
      body: {
        detail: issues,
        error: {
          message: 'Input should be greater than or equal to 300',
          type: 'invalid_request_error',
          param: 'body.sessionDuration',
          code: 'validation_error',
        },
      },
      unexpected: false,
    });
  });

  it('joins numeric parts of a loc too', () => {
    const issues = [{ loc: ['body', 'items', 2, 'name'], msg: 'Field required', type: 'missing' as const }];
    expect(toApiError(new RequestValidationError(issues)).body.error.param).toBe('body.items.2.name');
  });

  it('hides the message of an unexpected error', () => {
    const error = toApiError(new Error('SELECT * FROM secrets failed at 10.0.0.5'));
    expect(error).toEqual({
      status: 500,
      code: 'internal_error',
      body: {
        detail: 'Internal server error',
        error: { message: 'Internal server error', type: 'api_error', param: null, code: 'internal_error' },
      },
      unexpected: true,
    });
  });

  it('replaces framework wording for unknown routes', () => {
    expect(toApiError(new NotFoundException('Cannot GET /x')).body).toEqual({
      detail: 'Not Found',
      error: { message: 'Not Found', type: 'invalid_request_error', param: null, code: 'unsupported_route' },
    });
    expect(toApiError(new BadRequestException('nope')).body).toEqual({
      detail: 'nope',
      error: { message: 'nope', type: 'invalid_request_error', param: null, code: 'bad_request' },
    });
    expect(toApiError(new PayloadTooLargeException()).body.error.code).toBe('body_too_large');
  });

  it('maps Fastify errors that reach it unwrapped, without echoing the URL', () => {
    expect(toApiError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'too large'))).toMatchObject({
      status: 413,
      body: { detail: 'Request body too large (limit 64 KiB)', error: { type: 'invalid_request_error', code: 'body_too_large' } },
    });
    expect(toApiError(fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400))).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ['body'], type: 'missing' }], error: { param: 'body', code: 'validation_error' } },
    });
    const badUrl = toApiError(fastifyError('FST_ERR_BAD_URL', 400, "'/%zz?key=sk-secret' is not a valid url component"));
    expect(badUrl).toMatchObject({ status: 400, body: { detail: 'Bad request', error: { code: 'bad_request' } } });
    expect(toApiError(fastifyError('FST_ERR_MAX_PARAM_LENGTH', 414)).body.error.code).toBe('uri_too_long');
  });
});

describe('toRpcError', () => {
  it('is the HTTP status, detail and code, without the OpenAI object (docs/API.md §6)', () => {
    expect(toRpcError(new ConflictError('busy'))).toEqual({ status: 409, detail: 'busy', code: 'conflict' });
    const issues = [{ loc: ['payload', 'model_id'], msg: 'Field required', type: 'missing' as const }];
    expect(toRpcError(new RequestValidationError(issues))).toEqual({ status: 422, detail: issues, code: 'validation_error' });
  });
});

describe('failureLogFields', () => {
  it("is a domain error's code, status and facts; an unknown error keeps its stack under err", () => {
    expect(failureLogFields(new ConflictError('busy').withLogFields({ keyId: 'k' }))).toEqual({
      code: 'conflict',
      status: 409,
      keyId: 'k',
    });
    const bug = new Error('boom');
    expect(failureLogFields(bug)).toEqual({ code: 'internal_error', err: bug });
  });
});

describe('errorExample', () => {
  it("is the filter's own answer for the error, so Swagger cannot drift from it", () => {
    const error = new ConflictError('busy');
    expect(errorExample(error).example).toEqual(toApiError(error).body);
    expect(errorExample(error).required).toEqual(['detail', 'error']);
  });
});
