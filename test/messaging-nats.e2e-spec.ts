/**
 * The internal interface over real NATS (docs/API.md §6, issue 5): the real app (HTTP + NATS
 * listener in one process) on a fresh PostgreSQL database and the proxy-router simulator,
 * called through the typed client of src/client, exactly as another NestJS service would.
 * Every answer is compared with what HTTP answers for the same thing.
 *
 * The NATS server is this file's own (see test/support/nats.ts): on the shared one, another
 * test file's gateway in the same queue group could answer our requests.
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { ApiKeyService } from '../src/auth/api-key.service';
import type { ValidationIssue } from '../src/common/errors';
import { client, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  gatewayClient,
  type GatewayClientHandle,
  gatewayError,
  type NatsServer,
  type RawNatsMessage,
  rawSubscribe,
  type RawSubscription,
  startNatsServer,
  waitForNatsStatus,
} from './support/nats';
import {
  aKey,
  chainNow,
  chainTime,
  gatewayEnv,
  HEX32,
  onNextOpen,
  openableModels,
  sessionApi,
  settleBackground,
  SIMULATOR,
  startGateway,
  type TestKey,
  totalCalls,
  waitFor,
} from './support/kit';

jest.setTimeout(60_000);

const CREATED = 'Session created and associated with API key';
const EVENT_SUBJECTS = ['session.opened', 'session.closed', 'session.expired', 'session.dead'];
const ADDRESS = /^0x[0-9a-f]{40}$/;

/** HTTP's 422 detail as the interface must answer it: the same entries, `loc` starting with `payload`. */
const asPayload = (detail: ValidationIssue[]): ValidationIssue[] =>
  detail.map((issue) => ({ ...issue, loc: ['payload', ...issue.loc.slice(1)] }));
/** The `detail` list of an HTTP 422. */
const detailOf = (response: { body: unknown }): ValidationIssue[] => (response.body as { detail: ValidationIssue[] }).detail;
/** The `detail` of an HTTP error answer. */
const httpDetail = (response: { body: unknown }): unknown => (response.body as { detail: unknown }).detail;
/** Validation entries in a stable order (the contract fixes their content, not their order). */
const sorted = (detail: unknown): string[] => (detail as unknown[]).map((issue) => JSON.stringify(issue)).sort();

describe('internal interface over NATS (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let nats: NatsServer;
  let gateway: TestApp;
  let typed: GatewayClientHandle;
  let events: RawSubscription;
  let api: ReturnType<typeof sessionApi>;
  let call: ReturnType<typeof client>;

  const sessionRows = async (key: TestKey) =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM sessions WHERE api_key_id = $1', [key.id]))[0].n);

  /** The events of one session, in arrival order. */
  const eventsOf = (sessionId: string) => (m: RawNatsMessage) =>
    EVENT_SUBJECTS.includes(m.subject) && (m.body as { data?: { session_id?: string } }).data?.session_id === sessionId;

  beforeAll(async () => {
    db = await createTestDatabase('messaging_nats');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-nats-e2e' });
    nats = await startNatsServer();
    gateway = await startGateway(gatewayEnv(db, sim, { NATS_URL: nats.url, LOG_LEVEL: 'warn' }));
    await settleBackground(gateway);
    await waitForNatsStatus(gateway.url, 'up');
    typed = await gatewayClient({ transport: 'nats', url: nats.url, timeoutMs: 15_000 });
    events = await rawSubscribe(nats.url, 'session.*');
    api = sessionApi(gateway.url);
    call = client(gateway.url);
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await events?.close();
    await typed?.close();
    await gateway?.close();
    await nats?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('creates a model session by message, HTTP sees the same session, ping and close by message answer as HTTP', async () => {
    const key = await aKey(gateway);
    const model = openableModels(sim)[0];

    const created = await typed.client.createModelSession(key.auth, { model_id: model, sessionDuration: 600 });
    expect(Object.keys(created).sort()).toEqual(
      [
        'api_key_prefix',
        'bid_id',
        'expires_at',
        'message',
        'model',
        'provider',
        'replaced_session_id',
        'reused',
        'session_id',
        'success',
      ].sort(),
    );
    expect(created).toMatchObject({
      success: true,
      message: CREATED,
      api_key_prefix: key.prefix,
      model,
      reused: false,
      replaced_session_id: null,
    });
    expect(created.session_id).toMatch(HEX32);
    expect(created.bid_id).toMatch(HEX32);
    expect(created.provider).toMatch(ADDRESS);
    expect(sim.counts().openModel).toBe(1);

    // The same key over HTTP: the same session; the message's reply is the HTTP body.
    const viaHttp = await api.current(key.auth);
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body).toMatchObject({ session_id: created.session_id, status: 'active', model, api_key_prefix: key.prefix });
    expect(await typed.client.getSession(key.auth)).toEqual(viaHttp.body);

    // The same target again, by message and by HTTP: the same reuse answer, nothing sent on chain.
    const again = await typed.client.createModelSession(key.auth, { model_id: model });
    expect(again).toMatchObject({ session_id: created.session_id, reused: true, replaced_session_id: null });
    expect((await api.createForModel(key.auth, model)).body).toEqual(again);
    expect(sim.counts().openModel).toBe(1);

    const pinged = await typed.client.pingSession(key.auth);
    expect(pinged).toEqual({ status: 'alive', message: 'Session is alive', session_id: created.session_id, success: true });
    expect((await api.ping(key.auth)).body).toEqual(pinged);

    const closed = await typed.client.closeSession(key.auth);
    expect(closed).toEqual({ success: true, message: 'Session closed successfully', session_id: created.session_id });
    expect(sim.counts().close).toBe(1);
    expect(sim.control.getSession(created.session_id)?.closedAt).not.toBe(0n);

    // Afterwards, message and HTTP agree again.
    const httpAfter = await api.current(key.auth);
    expect(httpAfter).toMatchObject({ status: 404, body: { detail: 'No active session' } });
    await expect(typed.client.getSession(key.auth)).rejects.toMatchObject({ status: 404, detail: 'No active session', code: 'no_session' });
    const noSession = { success: true, message: 'No active session found to close', session_id: null };
    expect(await typed.client.closeSession(key.auth)).toEqual(noSession);
    expect((await api.close(key.auth)).body).toEqual(noSession);
    expect(await typed.client.pingSession(key.auth)).toEqual((await api.ping(key.auth)).body);
  });

  it('refuses every pattern without authorization: 401 with the detail HTTP gives, nothing opened', async () => {
    const model = openableModels(sim)[0];
    const bid = sim.marketplace.liveBidIds[0];
    const http = {
      create_model: await api.createForModel(undefined, model),
      create_bid: await api.createForBid(undefined, bid),
      get: await api.current(undefined),
      ping: await api.ping(undefined),
      close: await api.close(undefined),
      models: await call('GET', '/api/v1/models'),
    };
    for (const answer of Object.values(http)) expect(answer.status).toBe(401);
    const none = undefined as unknown as string; // the typed client then sends no `authorization` at all
    const messages = {
      create_model: await gatewayError(typed.client.createModelSession(none, { model_id: model })),
      create_bid: await gatewayError(typed.client.createBidSession(none, { bid_id: bid })),
      get: await gatewayError(typed.client.getSession(none)),
      ping: await gatewayError(typed.client.pingSession(none)),
      close: await gatewayError(typed.client.closeSession(none)),
      models: await gatewayError(typed.client.listModels(none)),
    };
    for (const [name, refused] of Object.entries(messages)) {
      expect({ name, ...refused }).toEqual({ name, status: 401, detail: httpDetail(http[name as keyof typeof http]) });
    }
    // An empty or non-string credential is no credential either.
    expect(await gatewayError(typed.client.getSession(''))).toEqual({ status: 401, detail: httpDetail(http.get) });
    expect(await gatewayError(typed.client.getSession(42 as unknown as string))).toEqual({ status: 401, detail: httpDetail(http.get) });
    expect(totalCalls(sim)).toBe(0);
  });

  it('refuses a revoked key: 401 with the detail HTTP gives, nothing opened', async () => {
    const key = await aKey(gateway);
    await gateway.app.get(ApiKeyService).revoke(key.userId, key.id);
    const model = openableModels(sim)[0];
    const http = await api.createForModel(key.auth, model);
    expect(http.status).toBe(401);
    expect(await gatewayError(typed.client.createModelSession(key.auth, { model_id: model }))).toEqual({
      status: 401,
      detail: httpDetail(http),
    });
    expect(await gatewayError(typed.client.getSession(key.auth))).toEqual({ status: 401, detail: httpDetail(await api.current(key.auth)) });
    // A bare `sk-…` (accepted over HTTP too) is the same revoked key.
    expect(await gatewayError(typed.client.getSession(key.key))).toMatchObject({ status: 401 });
    expect(totalCalls(sim)).toBe(0);
    expect(await sessionRows(key)).toBe(0);
  });

  /** A bad create over HTTP and by message: both 422; returns [HTTP detail, message detail]. */
  async function badCreate(
    key: TestKey,
    modelId: string | undefined,
    body: Record<string, unknown>,
  ): Promise<[ValidationIssue[], ValidationIssue[]]> {
    const http = await api.createForModel(key.auth, modelId, { body });
    expect(http.status).toBe(422);
    const payload = { ...body, ...(modelId === undefined ? {} : { model_id: modelId }) };
    const refused = await gatewayError(typed.client.createModelSession(key.auth, payload as never));
    expect(refused.status).toBe(422);
    for (const issue of refused.detail as ValidationIssue[]) expect(issue.loc[0]).toBe('payload');
    return [detailOf(http), refused.detail as ValidationIssue[]];
  }

  it('validates payloads with the HTTP DTOs: the same 422 detail with `loc` starting with payload, nothing opened', async () => {
    const key = await aKey(gateway);
    const model = openableModels(sim)[0];
    const cases: Array<[string | undefined, Record<string, unknown>, Array<[string, string]>]> = [
      // docs/API.md §5: a 0x value that is not 64 hex digits; a non-integer duration and an unknown field.
      ['0x123', {}, [['payload.model_id', 'string_pattern_mismatch']]],
      [
        model,
        { sessionDuration: 'abc', colour: 'blue' },
        [
          ['payload.colour', 'extra_forbidden'],
          ['payload.sessionDuration', 'int_parsing'],
        ],
      ],
      [undefined, {}, [['payload.model_id', 'missing']]],
      [model, { sessionDuration: 30 }, [['payload.sessionDuration', 'greater_than_equal']]],
      [model, { directPayment: 'yes' }, [['payload.directPayment', 'bool_parsing']]],
      [model, { failover: 1 }, [['payload.failover', 'bool_parsing']]],
    ];
    for (const [modelId, body, expected] of cases) {
      const [http, message] = await badCreate(key, modelId, body);
      expect(sorted(message)).toEqual(sorted(asPayload(http)));
      expect(message.map((issue) => [issue.loc.join('.'), issue.type]).sort()).toEqual(expected);
    }
    expect(totalCalls(sim)).toBe(0);
    expect(await sessionRows(key)).toBe(0);
  });

  it('a payload bad in its query part and its body part at once: one entry per problem, over HTTP and by message', async () => {
    const key = await aKey(gateway);
    const [http, message] = await badCreate(key, '0x123', { sessionDuration: 'abc', colour: 'blue' });
    const expected = [
      ['payload.colour', 'extra_forbidden'],
      ['payload.model_id', 'string_pattern_mismatch'],
      ['payload.sessionDuration', 'int_parsing'],
    ];
    expect(message.map((issue) => [issue.loc.join('.'), issue.type]).sort()).toEqual(expected);
    // docs/API.md §1 "one entry per problem" and §6 "what HTTP would answer": HTTP must list all three too.
    expect(sorted(asPayload(http))).toEqual(sorted(message));
    expect(totalCalls(sim)).toBe(0);
    expect(await sessionRows(key)).toBe(0);
  });

  it('a bid session with directPayment or failover true is a 422 literal_error at payload.<flag>, as over HTTP', async () => {
    const key = await aKey(gateway);
    const bid = sim.marketplace.liveBidIds[0];
    for (const flag of ['directPayment', 'failover']) {
      const http = await api.createForBid(key.auth, bid, { body: { [flag]: true } });
      expect(http.status).toBe(422);
      expect(detailOf(http)).toEqual([expect.objectContaining({ loc: ['body', flag], type: 'literal_error' })]);
      const refused = await gatewayError(typed.client.createBidSession(key.auth, { bid_id: bid, [flag]: true }));
      expect(refused).toEqual({ status: 422, detail: asPayload(detailOf(http)) });
    }
    expect(totalCalls(sim)).toBe(0);
    expect(await sessionRows(key)).toBe(0);
  });

  it('models.list answers what GET /api/v1/models answers', async () => {
    const key = await aKey(gateway);
    const http = await call('GET', '/api/v1/models', { auth: key.auth });
    expect(http.status).toBe(200);
    expect(http.body.data.length).toBeGreaterThan(0);
    expect(await typed.client.listModels(key.auth)).toEqual(http.body);
  });

  describe('events', () => {
    const expectEvent = (
      message: RawNatsMessage,
      subject: string,
      sessionId: string,
      key: TestKey,
      model: string,
      since: number,
      reason?: string,
    ) => {
      // Nest's NATS framing of an event: the JSON {pattern, data}, no `id` (that would make it a request).
      expect(message.subject).toBe(subject);
      expect(message.body).toEqual({
        pattern: subject,
        data: { session_id: sessionId, api_key_prefix: key.prefix, model, at: expect.any(String), ...(reason ? { reason } : {}) },
      });
      // `at` is an ISO instant stamped after the test's action began (an ordering, not a duration).
      const { at } = (message.body as { data: { at: string } }).data;
      expect(new Date(at).toISOString()).toBe(at);
      expect(Date.parse(at)).toBeGreaterThanOrEqual(since - 1_000);
    };

    it('create then close: session.opened then session.closed, in order', async () => {
      const key = await aKey(gateway);
      const model = openableModels(sim)[1];
      const since = Date.now();
      const { session_id } = await typed.client.createModelSession(key.auth, { model_id: model });
      await typed.client.closeSession(key.auth);
      const seen = await events.waitFor(2, eventsOf(session_id));
      await new Promise((resolve) => setTimeout(resolve, 300)); // no duplicate follows
      expect(events.messages.filter(eventsOf(session_id)).map((m) => m.subject)).toEqual(['session.opened', 'session.closed']);
      expectEvent(seen[0], 'session.opened', session_id, key, model, since);
      expectEvent(seen[1], 'session.closed', session_id, key, model, since, 'closed_by_client');
    });

    it('a dead ping: session.dead, then session.closed', async () => {
      const key = await aKey(gateway);
      const model = openableModels(sim)[2];
      const since = Date.now();
      const { session_id } = await typed.client.createModelSession(key.auth, { model_id: model });
      sim.control.setChatBehaviour(session_id, { mode: 'error' });
      const pinged = await typed.client.pingSession(key.auth);
      expect(pinged).toMatchObject({ status: 'dead', session_id, success: false });
      const seen = await events.waitFor(3, eventsOf(session_id));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events.messages.filter(eventsOf(session_id)).map((m) => m.subject)).toEqual([
        'session.opened',
        'session.dead',
        'session.closed',
      ]);
      expectEvent(seen[1], 'session.dead', session_id, key, model, since);
      expectEvent(seen[2], 'session.closed', session_id, key, model, since, 'dead');
    });

    it('expiry (EndsAt passes): session.get answers 404 and session.expired is published', async () => {
      const key = await aKey(gateway);
      const model = openableModels(sim)[3];
      const since = Date.now();
      const shortened = onNextOpen(sim, (s) => sim.control.setSessionEndsAt(s.id, chainNow() + 2n));
      const created = await typed.client.createModelSession(key.auth, { model_id: model });
      const record = await shortened;
      expect(created.expires_at).toBe(chainTime(record.endsAt));
      expect(await typed.client.getSession(key.auth)).toMatchObject({ session_id: created.session_id, status: 'active' });
      await waitFor('EndsAt to pass', () => Date.now() > Date.parse(created.expires_at!) + 50, 5_000, 50);
      expect(await gatewayError(typed.client.getSession(key.auth))).toEqual({ status: 404, detail: 'No active session' });
      const seen = await events.waitFor(2, eventsOf(created.session_id));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events.messages.filter(eventsOf(created.session_id)).map((m) => m.subject)).toEqual(['session.opened', 'session.expired']);
      expectEvent(seen[1], 'session.expired', created.session_id, key, model, since);
    });
  });
});
