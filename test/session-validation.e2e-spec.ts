/**
 * Bad input never reaches the chain (issue 4, docs/API.md §1 and §5): malformed ids, durations
 * out of bounds, wrong types, unknown fields, a missing or malformed body — each a 422 in
 * the pydantic shape, and the simulator counted no call of any operation, model listings
 * included. What the contract accepts (decimal-integer strings, "false") does open.
 */
import { OPERATIONS, type OperationCounts, type Simulator, startSimulator } from '../dev/simulator';
import { type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { aKey, type CreateBody, gatewayEnv, onChain, sessionApi, settleBackground, SIMULATOR, startGateway } from './support/kit';

jest.setTimeout(60_000);

type Loc = (string | number)[];
type Route = 'model' | 'bid';

interface BadInput {
  route: Route;
  /** The query value; undefined leaves the parameter out. Default: a valid id for the route. */
  target?: string | undefined;
  options: CreateBody;
  issues: Array<[Loc, string]>;
}

const NO_CALLS = Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as OperationCounts;
const MALFORMED_JSON = '{"sessionDuration": 3600,';
const noTarget = { target: undefined };

/** Body problems: the same answer on both create routes. */
const BODY_CASES: Array<[string, CreateBody, Array<[Loc, string]>]> = [
  [
    'sessionDuration 59 (below SESSION_MIN_DURATION_S)',
    { body: { sessionDuration: 59 } },
    [[['body', 'sessionDuration'], 'greater_than_equal']],
  ],
  [
    'sessionDuration 7201 (above SESSION_MAX_DURATION_S)',
    { body: { sessionDuration: 7201 } },
    [[['body', 'sessionDuration'], 'less_than_equal']],
  ],
  ['sessionDuration "abc"', { body: { sessionDuration: 'abc' } }, [[['body', 'sessionDuration'], 'int_parsing']]],
  ['sessionDuration 3.5', { body: { sessionDuration: 3.5 } }, [[['body', 'sessionDuration'], 'int_from_float']]],
  ['sessionDuration true', { body: { sessionDuration: true } }, [[['body', 'sessionDuration'], 'int_type']]],
  ['an unknown field', { body: { sessionDuration: 3600, duration: 3600 } }, [[['body', 'duration'], 'extra_forbidden']]],
  ['no body at all', { noBody: true }, [[['body'], 'missing']]],
  ['an empty JSON body', { rawBody: '' }, [[['body'], 'missing']]],
  ['malformed JSON', { rawBody: MALFORMED_JSON }, [[['body'], 'json_invalid']]],
  ['a JSON array', { body: [] }, [[['body'], 'model_type']]],
  ['a JSON string', { rawBody: '"3600"' }, [[['body'], 'model_type']]],
];

const CASES: Array<[string, BadInput]> = [
  ['model_id "0x123"', { route: 'model', target: '0x123', options: {}, issues: [[['query', 'model_id'], 'string_pattern_mismatch']] }],
  [
    'model_id 0x + 64 non-hex',
    { route: 'model', target: `0x${'zz'.repeat(32)}`, options: {}, issues: [[['query', 'model_id'], 'string_pattern_mismatch']] },
  ],
  [
    'model_id 0x + 66 hex',
    { route: 'model', target: `0x${'ab'.repeat(33)}`, options: {}, issues: [[['query', 'model_id'], 'string_pattern_mismatch']] },
  ],
  ['model_id missing', { route: 'model', ...noTarget, options: {}, issues: [[['query', 'model_id'], 'missing']] }],
  ['model_id empty', { route: 'model', target: '', options: {}, issues: [[['query', 'model_id'], 'string_too_short']] }],
  [
    'a 65-character model name',
    { route: 'model', target: 'm'.repeat(65), options: {}, issues: [[['query', 'model_id'], 'string_too_long']] },
  ],
  ['bid_id "0x123"', { route: 'bid', target: '0x123', options: {}, issues: [[['query', 'bid_id'], 'string_pattern_mismatch']] }],
  [
    'bid_id a model name',
    { route: 'bid', target: 'llama-3.3-70b', options: {}, issues: [[['query', 'bid_id'], 'string_pattern_mismatch']] },
  ],
  ['bid_id missing', { route: 'bid', ...noTarget, options: {}, issues: [[['query', 'bid_id'], 'missing']] }],
  [
    'directPayment "yes"',
    { route: 'model', options: { body: { directPayment: 'yes' } }, issues: [[['body', 'directPayment'], 'bool_parsing']] },
  ],
  ['failover 1', { route: 'model', options: { body: { failover: 1 } }, issues: [[['body', 'failover'], 'bool_parsing']] }],
  ...BODY_CASES.flatMap(([name, options, issues]) =>
    (['model', 'bid'] as const).map((route): [string, BadInput] => [`${route} route, ${name}`, { route, options, issues }]),
  ),
];

describe('session create input validation (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let api: ReturnType<typeof sessionApi>;

  beforeAll(async () => {
    db = await createTestDatabase('session_validation');
    sim = await startSimulator({ ...SIMULATOR, seed: 'session-validation-e2e' });
    gateway = await startGateway(gatewayEnv(db, sim));
    await settleBackground(gateway);
    api = sessionApi(gateway.url);
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });

  const validTarget = (route: Route): string => (route === 'model' ? sim.marketplace.liveModelIds[0] : sim.marketplace.liveBidIds[0]);

  function create(auth: string, route: Route, target: string | undefined, options: CreateBody) {
    return route === 'model' ? api.createForModel(auth, target, options) : api.createForBid(auth, target, options);
  }

  describe('422 with the detail list, and no simulator call', () => {
    it.each(CASES)('%s', async (_name, input) => {
      const key = await aKey(gateway);
      const target = 'target' in input ? input.target : validTarget(input.route);
      const res = await create(key.auth, input.route, target, input.options);
      expect(res.status).toBe(422);
      const [[firstLoc]] = input.issues;
      expect(res.body).toEqual({
        detail: input.issues.map(([loc, type]) => ({ loc, msg: expect.any(String), type })),
        error: { message: expect.any(String), type: 'invalid_request_error', param: firstLoc.join('.'), code: 'validation_error' },
      });
      expect(sim.counts()).toEqual(NO_CALLS);
      expect((await api.current(key.auth)).status).toBe(404);
    });

    it.each<[string, Route, string, CreateBody, Array<[Loc, string]>]>([
      [
        'two body problems',
        'model',
        'valid',
        { body: { sessionDuration: 'abc', directPayment: 'yes' } },
        [
          [['body', 'sessionDuration'], 'int_parsing'],
          [['body', 'directPayment'], 'bool_parsing'],
        ],
      ],
      [
        'a query and a body problem',
        'model',
        '0x123',
        { body: { sessionDuration: 3.5 } },
        [
          [['query', 'model_id'], 'string_pattern_mismatch'],
          [['body', 'sessionDuration'], 'int_from_float'],
        ],
      ],
      [
        'an out-of-bounds duration and an unknown field',
        'bid',
        'valid',
        { body: { sessionDuration: 59, extra: true } },
        [
          [['body', 'sessionDuration'], 'greater_than_equal'],
          [['body', 'extra'], 'extra_forbidden'],
        ],
      ],
    ])('every problem at once: %s', async (_name, route, target, options, issues) => {
      const key = await aKey(gateway);
      const res = await create(key.auth, route, target === 'valid' ? validTarget(route) : target, options);
      expect(res.status).toBe(422);
      const detail = (res.body as unknown as { detail: unknown[] }).detail;
      expect(detail).toEqual(expect.arrayContaining(issues.map(([loc, type]) => ({ loc, msg: expect.any(String), type }))));
      expect(detail).toHaveLength(issues.length);
      expect(sim.counts()).toEqual(NO_CALLS);
    });
  });

  describe('what the contract accepts opens a session', () => {
    it.each<[string, Route, unknown, bigint]>([
      ['sessionDuration "3600" (a decimal-integer string)', 'model', { sessionDuration: '3600' }, 3600n],
      ['directPayment and failover "false"', 'model', { directPayment: 'false', failover: 'false' }, 3600n],
      ['the lower bound, 60 s', 'model', { sessionDuration: 60 }, 60n],
      ['the upper bound, 7200 s', 'model', { sessionDuration: 7200 }, 7200n],
      [
        'a bid session with sessionDuration "600" and directPayment "false"',
        'bid',
        { sessionDuration: '600', directPayment: 'false' },
        600n,
      ],
    ])('%s', async (_name, route, body, duration) => {
      const key = await aKey(gateway);
      const res = await create(key.auth, route, validTarget(route), { body });
      expect(res.status).toBe(200);
      const record = onChain(sim, res.body.session_id);
      expect(record.endsAt - record.openedAt).toBe(duration);
      expect(sim.counts()).toMatchObject(route === 'model' ? { openModel: 1, openBid: 0 } : { openModel: 0, openBid: 1 });
    });
  });
});
