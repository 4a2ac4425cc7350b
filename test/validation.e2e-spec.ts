/**
 * The request pipeline's error shapes (docs/API.md §1), through a probe route mounted in the real
 * app: pydantic-style 422s from the project's field decorators, 413, 404, 500 without
 * internals, and `x-request-id` on every answer.
 */
import { Body, Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import { Public } from '../src/auth/decorators';
import { BoolField, FalseOnlyField, IntField, StringField } from '../src/common/validation/fields';
import { client, JsonResponse, oidcEnv, startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';

class ProbeBodyDto {
  @IntField({ min: 60, max: 86_400 })
  sessionDuration: number;

  @BoolField({ optional: true })
  directPayment?: boolean;

  @StringField({ optional: true, minLength: 2, maxLength: 8, pattern: /^[a-z]+$/ })
  label?: string;

  @FalseOnlyField()
  failover?: boolean;
}

class ProbeQueryDto {
  @IntField({ optional: true, min: 0, max: 10 })
  page?: number;
}

/** The error thrown by /probe/boom: it must never reach the caller. */
const INTERNAL_MESSAGE = 'connect ECONNREFUSED db.internal.example:5432 (SELECT * FROM api_keys)';

@Public()
@Controller('probe')
class ProbeController {
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: ProbeBodyDto, @Query() query: ProbeQueryDto): { body: ProbeBodyDto; query: ProbeQueryDto } {
    return { body, query };
  }

  @Get('boom')
  boom(): never {
    throw new Error(INTERNAL_MESSAGE);
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

const VALID = { sessionDuration: 3600 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One 422 entry as the contract spells it. */
const issue = (loc: (string | number)[], type: string) => ({ loc, msg: expect.any(String), type });

// Starting the app and real logins can pass jest's 5 s default under load (the e2e project's
// testTimeout in jest.config.js is not applied by jest 30: it is a global option).

describe('request validation and error shapes (e2e)', () => {
  let db: TestDatabase;
  let gateway: TestApp;
  let call: ReturnType<typeof client>;

  const echo = (options: { body?: unknown; rawBody?: string; headers?: Record<string, string> }, query = '') =>
    call('POST', `/probe/echo${query}`, options);

  /** A 422 whose detail is exactly these entries (in any order), the OpenAI object naming the first. */
  function expectIssues(res: JsonResponse, ...issues: ReturnType<typeof issue>[]): void {
    expect(res.status).toBe(422);
    const [first] = (res.body as { detail: { loc: (string | number)[]; msg: string }[] }).detail;
    expect(res.body).toEqual({
      detail: expect.arrayContaining(issues),
      error: { message: first.msg, type: 'invalid_request_error', param: first.loc.join('.'), code: 'validation_error' },
    });
    expect((res.body as { detail: unknown[] }).detail).toHaveLength(issues.length);
  }

  beforeAll(async () => {
    db = await createTestDatabase('validation');
    gateway = await startTestApp({ DATABASE_URL: db.url, ...oidcEnv() }, { extraImports: [ProbeModule] });
    call = client(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
  });

  describe('valid input', () => {
    it('a JSON body passes, with integers and booleans as sent', async () => {
      const res = await echo({ body: { sessionDuration: 3600, directPayment: true, label: 'abc', failover: false } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ body: { sessionDuration: 3600, directPayment: true, label: 'abc', failover: false }, query: {} });
    });

    it('decimal-integer strings are integers and "true"/"false" are booleans', async () => {
      const res = await echo({ body: { sessionDuration: '3600', directPayment: 'false', failover: 'false' } }, '?page=3');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ body: { sessionDuration: 3600, directPayment: false, failover: false }, query: { page: 3 } });
      expect((await echo({ body: { ...VALID, directPayment: 'true' } })).body).toMatchObject({ body: { directPayment: true } });
    });

    it('the bounds themselves are allowed', async () => {
      expect((await echo({ body: { sessionDuration: 60, label: 'ab' } })).status).toBe(200);
      expect((await echo({ body: { sessionDuration: 86_400, label: 'abcdefgh' } })).status).toBe(200);
    });
  });

  describe('422 with the detail list', () => {
    it.each<[string, string, unknown]>([
      ['a non-numeric string', 'int_parsing', 'abc'],
      ['a number with a fraction', 'int_from_float', 3.5],
      ['a fractional string', 'int_parsing', '3.5'],
      ['true', 'int_type', true],
      ['null', 'int_type', null],
      ['an object', 'int_type', {}],
    ])('an integer given as %s is %s', async (_label, type, value) => {
      expectIssues(await echo({ body: { sessionDuration: value } }), issue(['body', 'sessionDuration'], type));
    });

    it.each<[string, string, unknown]>([
      ['"yes"', 'bool_parsing', 'yes'],
      ['1', 'bool_parsing', 1],
      ['"1"', 'bool_parsing', '1'],
      ['an object', 'bool_type', {}],
    ])('a boolean given as %s is %s', async (_label, type, value) => {
      expectIssues(await echo({ body: { ...VALID, directPayment: value } }), issue(['body', 'directPayment'], type));
    });

    it.each<[string, string, unknown]>([
      ['an object', 'string_type', {}],
      ['a number', 'string_type', 12],
      ['one character (too short)', 'string_too_short', 'a'],
      ['nine characters (too long)', 'string_too_long', 'abcdefghi'],
      ['upper case (off its pattern)', 'string_pattern_mismatch', 'ABC'],
    ])('a string field given %s is %s', async (_label, type, value) => {
      expectIssues(await echo({ body: { ...VALID, label: value } }), issue(['body', 'label'], type));
    });

    it('below the minimum is greater_than_equal, above the maximum less_than_equal', async () => {
      expectIssues(await echo({ body: { sessionDuration: 59 } }), issue(['body', 'sessionDuration'], 'greater_than_equal'));
      expectIssues(await echo({ body: { sessionDuration: 86_401 } }), issue(['body', 'sessionDuration'], 'less_than_equal'));
      expectIssues(await echo({ body: { sessionDuration: '30' } }), issue(['body', 'sessionDuration'], 'greater_than_equal'));
    });

    it('true for a false-only field is literal_error', async () => {
      expectIssues(await echo({ body: { ...VALID, failover: true } }), issue(['body', 'failover'], 'literal_error'));
      expectIssues(await echo({ body: { ...VALID, failover: 'true' } }), issue(['body', 'failover'], 'literal_error'));
    });

    it('an unknown field is extra_forbidden at its name', async () => {
      expectIssues(await echo({ body: { ...VALID, field: 1 } }), issue(['body', 'field'], 'extra_forbidden'));
    });

    it('a missing required field is missing at its name', async () => {
      expectIssues(await echo({ body: {} }), issue(['body', 'sessionDuration'], 'missing'));
      expectIssues(await echo({ body: { directPayment: true } }), issue(['body', 'sessionDuration'], 'missing'));
    });

    it('several problems give several entries', async () => {
      const res = await echo({ body: { sessionDuration: 'abc', directPayment: 'yes', label: 'A', extra: true } });
      expectIssues(
        res,
        issue(['body', 'sessionDuration'], 'int_parsing'),
        issue(['body', 'directPayment'], 'bool_parsing'),
        issue(['body', 'label'], 'string_too_short'),
        issue(['body', 'extra'], 'extra_forbidden'),
      );
    });

    it('malformed JSON is json_invalid at ["body"] (never a bare 400)', async () => {
      for (const rawBody of ['{"sessionDuration":', '{sessionDuration: 3600}', "{'a': 1}"]) {
        expectIssues(await echo({ rawBody }), issue(['body'], 'json_invalid'));
      }
    });

    it('a missing body (none, or empty with content-type json) is missing at ["body"]', async () => {
      expectIssues(await echo({}), issue(['body'], 'missing'));
      expectIssues(await echo({ rawBody: '' }), issue(['body'], 'missing'));
      expectIssues(await echo({ rawBody: '  \n' }), issue(['body'], 'missing'));
    });

    it.each<[string, string]>([
      ['an array', '[{"sessionDuration":3600}]'],
      ['a string', '"hello"'],
      ['a number', '42'],
    ])('a JSON body that is %s is model_type at ["body"]', async (_label, rawBody) => {
      expectIssues(await echo({ rawBody }), issue(['body'], 'model_type'));
    });

    /** `levels` arrays around 1: with the body object itself, `levels + 1` levels. */
    const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

    it('a body nested 10,000 levels deep is json_invalid at ["body"], logged below error (was a 500 from a stack overflow)', async () => {
      const res = await echo({ rawBody: `{"sessionDuration":3600,"label":${nested(10_000)}}`, headers: { 'x-request-id': 'deep-1' } });
      expectIssues(res, issue(['body'], 'json_invalid'));
      expect((res.body as { detail: { msg: string }[] }).detail[0].msg).toBe('JSON nested too deeply: more than 8 levels');
      const lines = gateway
        .logs()
        .split('\n')
        .filter((line) => line.includes('deep-1'))
        .map((line) => JSON.parse(line) as { level: number });
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    });

    it('8 levels reach the fields (a non-scalar for a scalar is its type error); 9 levels are json_invalid', async () => {
      expectIssues(await echo({ rawBody: `{"sessionDuration":3600,"label":${nested(7)}}` }), issue(['body', 'label'], 'string_type'));
      expectIssues(await echo({ rawBody: `{"sessionDuration":${nested(7)}}` }), issue(['body', 'sessionDuration'], 'int_type'));
      expectIssues(await echo({ rawBody: `{"sessionDuration":3600,"label":${nested(8)}}` }), issue(['body'], 'json_invalid'));
      expectIssues(await echo({ rawBody: `{"sessionDuration":3600,"label":{"a":{"b":${nested(6)}}}}` }), issue(['body'], 'json_invalid'));
    });

    it('query parameters are validated at ["query", name]', async () => {
      expectIssues(await echo({ body: VALID }, '?page=abc'), issue(['query', 'page'], 'int_parsing'));
      expectIssues(await echo({ body: VALID }, '?page=11'), issue(['query', 'page'], 'less_than_equal'));
    });
  });

  describe('other errors', () => {
    it('a 100 KiB body is a 413 {"detail": ...}', async () => {
      const res = await echo({ body: { ...VALID, label: 'a'.repeat(100 * 1024) } });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        detail: 'Request body too large (limit 64 KiB)',
        error: { message: 'Request body too large (limit 64 KiB)', type: 'invalid_request_error', param: null, code: 'body_too_large' },
      });
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    });

    it('a body just under 64 KiB is read (and validated)', async () => {
      const res = await echo({ body: { ...VALID, label: 'a'.repeat(60 * 1024) } });
      expectIssues(res, issue(['body', 'label'], 'string_too_long'));
    });

    it('an unknown route is a 404 {"detail":"Not Found"}', async () => {
      for (const [method, path] of [
        ['GET', '/no/such/route'],
        ['POST', '/api/v1/nothing-here'],
      ]) {
        const res = await call(method, path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({
          detail: 'Not Found',
          error: { message: 'Not Found', type: 'invalid_request_error', param: null, code: 'unsupported_route' },
        });
      }
    });

    it('an unexpected error is a 500 {"detail":"Internal server error"} without its message, logged once with the request id', async () => {
      const res = await call('GET', '/probe/boom', { headers: { 'x-request-id': 'boom-request-1' } });

      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        detail: 'Internal server error',
        error: { message: 'Internal server error', type: 'api_error', param: null, code: 'internal_error' },
      });
      const logLines = gateway
        .logs()
        .split('\n')
        .filter((line) => line.includes(INTERNAL_MESSAGE));
      expect(logLines).toHaveLength(1);
      expect(logLines[0]).toContain('boom-request-1');
    });
  });

  describe('x-request-id', () => {
    it('is on every answer', async () => {
      const answers = [
        await echo({ body: VALID }),
        await echo({ body: {} }),
        await echo({ rawBody: '{' }),
        await call('GET', '/no/such/route'),
        await call('GET', '/probe/boom'),
        await call('GET', '/api/v1/auth/me'),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 422, 422, 404, 500, 401]);
      for (const answer of answers) expect(answer.headers.get('x-request-id')).toMatch(UUID);
      expect(new Set(answers.map((a) => a.headers.get('x-request-id'))).size).toBe(answers.length);
    });

    it.each([
      ['a simple id', 'req-123'],
      ['every allowed character', 'Az09._-'],
      ['128 characters', 'a'.repeat(128)],
    ])("the caller's valid id is echoed: %s", async (_label, id) => {
      const ok = await echo({ body: VALID, headers: { 'x-request-id': id } });
      const failed = await echo({ body: {}, headers: { 'x-request-id': id } });
      expect(ok.headers.get('x-request-id')).toBe(id);
      expect(failed.status).toBe(422);
      expect(failed.headers.get('x-request-id')).toBe(id);
    });

    it.each([
      ['200 characters', 'a'.repeat(200)],
      ['129 characters', 'b'.repeat(129)],
      ['spaces', 'has spaces in it'],
      ['other punctuation', 'id;drop table'],
      ['non-ASCII-safe characters', 'id%0d%0ax'],
    ])('an invalid one is replaced by a generated one: %s', async (_label, id) => {
      const res = await echo({ body: VALID, headers: { 'x-request-id': id } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    });
  });
});
