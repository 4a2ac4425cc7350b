/**
 * The session routes end to end (docs/API.md §5): every documented answer of create (by model
 * id, by model name, by bid), GET, ping and close, against a fresh PostgreSQL database and
 * the proxy-router simulator over HTTP (basic auth on). Each test has its own API key; the
 * simulator is reset before each, so its counts are the test's own.
 */
import { randomBytes } from 'node:crypto';
import { OPERATIONS, type SessionRecord, type Simulator, startSimulator } from '../dev/simulator';
import { bearer, client, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { loginForTokens, testIssuer } from './support/oidc';
import { freePort } from './support/process';
import {
  aKey,
  aKeyHolder,
  chainNow,
  chainTime,
  gatewayEnv,
  HEX32,
  onChain,
  onNextOpen,
  sessionApi,
  settleBackground,
  SIMULATOR,
  startGateway,
  type TestKey,
  totalCalls,
  waitFor,
  errorBody,
} from './support/kit';

jest.setTimeout(60_000);

const CREATED = 'Session created and associated with API key';

/** The 200 answer of a fresh create, as the simulator's record of the session says it must be. */
function createdAnswer(record: SessionRecord, key: TestKey, model: string, overrides: Record<string, unknown> = {}) {
  return {
    success: true,
    message: CREATED,
    session_id: record.id,
    api_key_prefix: key.prefix,
    model,
    bid_id: record.bidId,
    provider: record.provider,
    expires_at: chainTime(record.endsAt),
    reused: false,
    replaced_session_id: null,
    ...overrides,
  };
}
/** An error answer (docs/API.md §1). */
const NO_KEY = errorBody('Create an API key first: POST /api/v1/auth/keys', 'invalid_request_error', 'no_api_key');
const NO_SESSION = errorBody('No active session', 'invalid_request_error', 'no_session');
const OPENING = errorBody(
  'A session is being opened for this API key: try again once it is recorded (GET /api/v1/session)',
  'invalid_request_error',
  'session_opening',
);
const UNREACHABLE = errorBody('proxy-router unreachable', 'api_error', 'proxy_router_unavailable');
const PING_NO_SESSION = { status: 'no_session', message: 'No active session found for this API key', success: false };
const CLOSE_NO_SESSION = { success: true, message: 'No active session found to close', session_id: null };
const UNKNOWN_MODEL_ID = `0x${'cd'.repeat(32)}`;
/** Held at the simulator this long, a first open is observably `opening`. */
const SLOW_OPEN_MS = 1500;

const issuer = testIssuer();
let userCount = 0;

/** A fresh user (a real login at the dev identity provider) and its JWT access token. */
async function aUserToken(): Promise<string> {
  const tokens = await loginForTokens(
    { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
    { username: `session-jwt-${process.pid}-${++userCount}`, resource: issuer.audience },
  );
  return tokens.access_token;
}

describe('session routes (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  /** A second gateway on the same database whose proxy-router is a closed port. */
  let nodeDown: TestApp;
  let api: ReturnType<typeof sessionApi>;
  let nodeDownApi: ReturnType<typeof sessionApi>;
  let call: ReturnType<typeof client>;

  beforeAll(async () => {
    db = await createTestDatabase('session_api');
    sim = await startSimulator({ ...SIMULATOR, seed: 'session-api-e2e' });
    gateway = await startGateway(gatewayEnv(db, sim));
    nodeDown = await startGateway(gatewayEnv(db, { url: `http://127.0.0.1:${await freePort()}` }));
    await settleBackground(gateway);
    await settleBackground(nodeDown);
    api = sessionApi(gateway.url);
    nodeDownApi = sessionApi(nodeDown.url);
    call = client(gateway.url);
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await nodeDown?.close();
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });

  // --- the seeded marketplace -------------------------------------------------------------

  /** The close reason the gateway recorded on the row of this chain session. */
  const closeReasonOf = async (chainSessionId: string) => {
    const [row] = await db.query<{ close_reason: string | null }>('SELECT close_reason FROM sessions WHERE chain_session_id = $1', [
      chainSessionId,
    ]);
    return row?.close_reason;
  };

  const liveBidsOf = (modelId: string) => sim.marketplace.bids.filter((b) => b.modelId === modelId && !b.isDeleted);

  /** Live models with a name of their own and a live bid: a model session opens on them. */
  function aModel(index = 0) {
    const live = sim.marketplace.models.filter((m) => !m.isDeleted);
    const openable = live.filter((m) => live.filter((o) => o.name === m.name).length === 1 && liveBidsOf(m.id).length > 0);
    return openable[index];
  }

  /** A live bid that is not its model's cheapest: an open by model would not pick it. */
  function aPricierBid() {
    const model = sim.marketplace.models.find((m) => !m.isDeleted && liveBidsOf(m.id).length >= 2)!;
    return [...liveBidsOf(model.id)].sort((a, b) => (BigInt(b.pricePerSecond) > BigInt(a.pricePerSecond) ? 1 : -1))[0];
  }

  // --- factories --------------------------------------------------------------------------

  /** A key whose session for `model` is active; the simulator's counts are zeroed afterwards. */
  async function aKeyWithSession(model = aModel(0), key?: TestKey): Promise<{ key: TestKey; sessionId: string }> {
    const owner = key ?? (await aKey(gateway));
    const res = await api.createForModel(owner.auth, model.id);
    expect(res.status).toBe(200);
    sim.control.resetCounts();
    return { key: owner, sessionId: res.body.session_id };
  }

  /** A key whose first open is held at the simulator; `created` is the create's answer. */
  async function aKeyOpening() {
    const key = await aKey(gateway);
    sim.control.setLatency('openModel', SLOW_OPEN_MS);
    const created = api.createForModel(key.auth, aModel(0).id);
    const reachedNode = waitFor('the open to reach the simulator', () => sim.counts().openModel === 1);
    return { key, created, reachedNode };
  }

  // --- create ------------------------------------------------------------------------------

  describe('POST /api/v1/session/modelsession', () => {
    it("by blockchain id (any case): 200 with the on-chain session's bid, provider and EndsAt; one open", async () => {
      const key = await aKey(gateway);
      const model = aModel(0);
      const res = await api.createForModel(key.auth, `0x${model.id.slice(2).toUpperCase()}`);
      expect(res.status).toBe(200);
      expect(res.body.session_id).toMatch(HEX32);
      const record = onChain(sim, res.body.session_id);
      expect(res.body).toEqual(createdAnswer(record, key, model.id));
      expect(key.prefix).toMatch(/^sk-[A-Za-z0-9]{8}$/);
      expect(record).toMatchObject({ modelId: model.id, closedAt: 0n });
      expect(record.endsAt - record.openedAt).toBe(3600n); // `{}` is the default duration
      expect(sim.counts()).toMatchObject({ openModel: 1, openBid: 0, close: 0 });
    });

    it('by name: the name is resolved to its blockchain id', async () => {
      const key = await aKey(gateway);
      const model = aModel(1);
      const res = await api.createForModel(key.auth, model.name, { body: { sessionDuration: 900 } });
      expect(res.status).toBe(200);
      const record = onChain(sim, res.body.session_id);
      expect(res.body).toEqual(createdAnswer(record, key, model.id));
      expect(record.modelId).toBe(model.id);
      expect(record.endsAt - record.openedAt).toBe(900n);
      expect(sim.counts()).toMatchObject({ openModel: 1, openBid: 0 });
    });

    it('failover true is recorded on the session; the node is always sent failover false', async () => {
      const key = await aKey(gateway);
      const model = aModel(0);
      const res = await api.createForModel(key.auth, model.id, { body: { directPayment: true, failover: true } });
      expect(res.status).toBe(200);
      expect(sim.control.receivedOpens()).toEqual([
        { op: 'openModel', target: model.id, sessionDuration: 3600n, directPayment: true, failover: false },
      ]);
      const rows = await db.query('SELECT direct_payment, failover FROM sessions WHERE chain_session_id = $1', [res.body.session_id]);
      expect(rows).toEqual([{ direct_payment: true, failover: true }]);
    });

    it('the same target again: the same session, reused, nothing sent on chain, body parameters ignored', async () => {
      const model = aModel(0);
      const { key, sessionId } = await aKeyWithSession(model);
      const first = onChain(sim, sessionId);
      for (const target of [model.id, model.name]) {
        const res = await api.createForModel(key.auth, target, { body: { sessionDuration: 120, directPayment: true } });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          success: true,
          message: expect.any(String),
          session_id: sessionId,
          api_key_prefix: key.prefix,
          model: model.id,
          bid_id: first.bidId,
          provider: first.provider,
          expires_at: chainTime(first.endsAt),
          reused: true,
          replaced_session_id: null,
        });
      }
      expect(sim.counts()).toMatchObject({ openModel: 0, openBid: 0, close: 0 });
    });

    it('the same target with less than SESSION_MIN_DURATION_S left: a fresh session replaces it', async () => {
      const key = await aKey(gateway);
      const model = aModel(0);
      const shortened = onNextOpen(sim, (s) => sim.control.setSessionEndsAt(s.id, chainNow() + 30n));
      const first = await api.createForModel(key.auth, model.id);
      const record = await shortened;
      expect(first.status).toBe(200);
      expect(first.body.expires_at).toBe(chainTime(record.endsAt)); // 30 s left < 60 s

      const second = await api.createForModel(key.auth, model.id);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ reused: false, replaced_session_id: first.body.session_id, model: model.id });
      expect(second.body.session_id).not.toBe(first.body.session_id);
      expect(onChain(sim, first.body.session_id).closedAt).toBeGreaterThan(0n);
      expect(onChain(sim, second.body.session_id).closedAt).toBe(0n);
      expect(sim.counts()).toMatchObject({ openModel: 2, close: 1 });
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: second.body.session_id });
    });

    it('another model replaces the session: the old one stays usable until the new one is recorded, then is closed on chain and named', async () => {
      const [modelA, modelB] = [aModel(0), aModel(1)];
      const { key, sessionId: old } = await aKeyWithSession(modelA);
      sim.control.setLatency('openModel', 800);
      const [during, res] = await Promise.all([
        waitFor('the replacement open to reach the simulator', () => sim.counts().openModel === 1).then(async () => ({
          current: await api.current(key.auth),
          oldClosedAt: onChain(sim, old).closedAt,
        })),
        api.createForModel(key.auth, modelB.id),
      ]);
      expect(during.current.status).toBe(200);
      expect(during.current.body).toMatchObject({ status: 'active', session_id: old, model: modelA.id });
      expect(during.oldClosedAt).toBe(0n);

      expect(res.status).toBe(200);
      const record = onChain(sim, res.body.session_id);
      expect(res.body).toEqual(createdAnswer(record, key, modelB.id, { replaced_session_id: old }));
      expect(onChain(sim, old).closedAt).toBeGreaterThan(0n);
      expect(await closeReasonOf(old)).toBe('replaced');
      expect(sim.counts()).toMatchObject({ openModel: 1, close: 1 });
      const current = await api.current(key.auth);
      expect(current.body).toMatchObject({ status: 'active', session_id: record.id, model: modelB.id });
    });

    it('a failed replacement open (500) is a 502 and leaves the old session active; the next attempt replaces it', async () => {
      const [modelA, modelB] = [aModel(0), aModel(1)];
      const { key, sessionId: old } = await aKeyWithSession(modelA);
      sim.control.failNext('openModel', { status: 500 });
      const failed = await api.createForModel(key.auth, modelB.id);
      expect(failed.status).toBe(502);
      expect(failed.body).toEqual(errorBody('proxy-router could not open the session', 'api_error', 'node_error'));
      expect(JSON.stringify(failed.body)).not.toContain('simulated failure'); // upstream text stays in the logs

      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: old, model: modelA.id });
      expect((await api.ping(key.auth)).body).toMatchObject({ status: 'alive', session_id: old });
      expect(onChain(sim, old).closedAt).toBe(0n);
      expect(sim.counts()).toMatchObject({ openModel: 1, close: 0 });

      const retried = await api.createForModel(key.auth, modelB.id);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ reused: false, replaced_session_id: old, model: modelB.id });
    });

    it.each([
      ['an unknown model id', () => UNKNOWN_MODEL_ID],
      ['a deleted model', (s: Simulator) => s.marketplace.deletedModelId],
      ['an unknown name', () => 'no-such-model'],
    ])('%s: 404 "Model not found", nothing sent on chain', async (_label, target) => {
      const key = await aKey(gateway);
      const res = await api.createForModel(key.auth, target(sim));
      expect(res.status).toBe(404);
      expect(res.body).toEqual(errorBody('Model not found', 'invalid_request_error', 'model_not_found'));
      expect(sim.counts()).toMatchObject({ openModel: 0, openBid: 0, close: 0 });
      expect((await api.current(key.auth)).status).toBe(404);
    });

    it('a name two live models share: 409, nothing sent on chain', async () => {
      const key = await aKey(gateway);
      expect(sim.marketplace.duplicateModelIds.length).toBeGreaterThan(1);
      const res = await api.createForModel(key.auth, sim.marketplace.duplicateName);
      expect(res.status).toBe(409);
      expect(res.body).toEqual(errorBody('ambiguous model name: use the blockchain id', 'invalid_request_error', 'ambiguous_model'));
      expect(sim.counts()).toMatchObject({ openModel: 0, openBid: 0, close: 0 });
    });
  });

  describe('POST /api/v1/session/bidsession', () => {
    it('a live bid: 200 on that very bid; the same bid again is reused', async () => {
      const key = await aKey(gateway);
      const bid = aPricierBid();
      const res = await api.createForBid(key.auth, bid.id, { body: { sessionDuration: 600, directPayment: false, failover: false } });
      expect(res.status).toBe(200);
      const record = onChain(sim, res.body.session_id);
      expect(res.body).toEqual(createdAnswer(record, key, bid.modelId, { bid_id: bid.id, provider: bid.provider }));
      expect(record).toMatchObject({ bidId: bid.id, provider: bid.provider, modelId: bid.modelId });
      expect(record.endsAt - record.openedAt).toBe(600n);
      expect(sim.counts()).toMatchObject({ openBid: 1, openModel: 0 });

      const again = await api.createForBid(key.auth, bid.id, { body: { sessionDuration: 3600 } });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ session_id: record.id, reused: true, bid_id: bid.id, replaced_session_id: null });
      expect(sim.counts()).toMatchObject({ openBid: 1, openModel: 0 });
    });

    it.each([
      ['an unknown bid (the node answers a zero-valued one)', () => `0x${randomBytes(32).toString('hex')}`],
      ['a deleted bid', (s: Simulator) => s.marketplace.deletedBidId],
    ])('%s: 404, nothing sent on chain', async (_label, target) => {
      const key = await aKey(gateway);
      const res = await api.createForBid(key.auth, target(sim));
      expect(res.status).toBe(404);
      expect(res.body).toEqual(errorBody('Bid not found', 'invalid_request_error', 'bid_not_found'));
      expect(sim.counts()).toMatchObject({ openBid: 0, openModel: 0, close: 0 });
      expect((await api.current(key.auth)).status).toBe(404);
    });

    it.each(['directPayment', 'failover'])('%s true: 422 literal_error, no simulator call at all', async (flag) => {
      const key = await aKey(gateway);
      const res = await api.createForBid(key.auth, aPricierBid().id, { body: { sessionDuration: 600, [flag]: true } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [{ loc: ['body', flag], msg: expect.any(String), type: 'literal_error' }],
        error: { message: expect.any(String), type: 'invalid_request_error', param: `body.${flag}`, code: 'validation_error' },
      });
      expect(totalCalls(sim)).toBe(0);
    });
  });

  // --- GET ---------------------------------------------------------------------------------

  describe('GET /api/v1/session', () => {
    it('404 "No active session" before any create', async () => {
      const key = await aKey(gateway);
      const res = await api.current(key.auth);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(NO_SESSION);
    });

    it('after a create: exactly the fields of docs/API.md §5, from the on-chain session', async () => {
      const model = aModel(0);
      const { key, sessionId } = await aKeyWithSession(model);
      const record = onChain(sim, sessionId);
      const res = await api.current(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        session_id: sessionId,
        model: model.id,
        bid_id: record.bidId,
        provider: record.provider,
        status: 'active',
        opened_at: chainTime(record.openedAt),
        expires_at: chainTime(record.endsAt),
        api_key_prefix: key.prefix,
      });
    });

    it("while the key's first session opens: status opening with session_id null", async () => {
      const { key, created, reachedNode } = await aKeyOpening();
      const [during, res] = await Promise.all([reachedNode.then(() => api.current(key.auth)), created]);
      expect(during.status).toBe(200);
      expect(during.body).toMatchObject({ status: 'opening', session_id: null, api_key_prefix: key.prefix });
      expect(Object.keys(during.body).sort()).toEqual([
        'api_key_prefix',
        'bid_id',
        'expires_at',
        'model',
        'opened_at',
        'provider',
        'session_id',
        'status',
      ]);
      expect(res.status).toBe(200);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: res.body.session_id });
    });

    it('needs no proxy-router: a gateway whose node is unreachable answers the same', async () => {
      const { key } = await aKeyWithSession();
      const here = await api.current(key.auth);
      const there = await nodeDownApi.current(key.auth);
      expect(there.status).toBe(200);
      expect(there.body).toEqual(here.body);
      for (const op of OPERATIONS) sim.control.failNext(op, { times: 5 });
      expect((await api.current(key.auth)).body).toEqual(here.body);
      expect(totalCalls(sim)).toBe(0);
    });
  });

  // --- ping --------------------------------------------------------------------------------

  describe('POST /api/v1/session/pingsession', () => {
    it('alive', async () => {
      const { key, sessionId } = await aKeyWithSession();
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'alive', message: 'Session is alive', session_id: sessionId, success: true });
      expect(sim.counts().chat).toBe(1);
    });

    it('dead (the provider fails): the session is closed on chain and in the gateway', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.setChatBehaviour(sessionId, { mode: 'error' });
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'dead',
        message: 'Session is dead and has been closed',
        session_id: sessionId,
        success: false,
        error: expect.any(String),
      });
      expect(res.body.error).not.toBe('');
      expect(res.body.error).not.toContain('model backend'); // the provider's own text stays in the logs
      expect(onChain(sim, sessionId).closedAt).toBeGreaterThan(0n);
      expect(await closeReasonOf(sessionId)).toBe('dead');
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });
    });

    const EXPIRED = (sessionId: string) => ({
      status: 'expired',
      message: 'Session is expired and has been marked as inactive',
      session_id: sessionId,
      success: false,
    });

    it('expired (the node says "session expired")', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.setChatBehaviour(sessionId, { mode: 'expired' });
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(EXPIRED(sessionId));
      expect(await closeReasonOf(sessionId)).toBe('expired');
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });
    });

    it('expired (its EndsAt passed at the node)', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.expireSession(sessionId);
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(EXPIRED(sessionId));
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });
    });

    it('expired (its recorded expires_at has passed): decided without asking the node', async () => {
      const key = await aKey(gateway);
      const shortened = onNextOpen(sim, (s) => sim.control.setSessionEndsAt(s.id, chainNow() + 2n));
      const created = await api.createForModel(key.auth, aModel(0).id);
      const record = await shortened;
      expect(created.status).toBe(200);
      expect(created.body.expires_at).toBe(chainTime(record.endsAt));
      await waitFor('the session to pass its EndsAt', () => Date.now() >= Number(record.endsAt) * 1000 + 50, 5_000, 50);
      sim.control.resetCounts();
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(EXPIRED(record.id));
      expect(sim.counts().chat).toBe(0);
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });
    });

    it('timeout (no chunk within PING_TIMEOUT_MS): the session is left open and usable', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.setChatBehaviour(sessionId, { mode: 'hang' });
      const order: string[] = [];
      const ping = api.ping(key.auth).then((answer) => (order.push('ping'), answer));
      await waitFor('the ping to reach the node', () => sim.counts().chat === 1);
      // A call bounded by the node's read timeout (PROXY_ROUTER_TIMEOUT_MS 1500 > PING_TIMEOUT_MS 1000):
      // another key's create whose read-back hangs once.
      sim.control.hangNext('session');
      const slowRead = api.createForModel(await aKey(gateway), aModel(0).id).then((answer) => (order.push('read-back'), answer));
      const [res, slow] = await Promise.all([ping, slowRead]);
      expect(slow.status).toBe(200);
      // The ping gave up at its own deadline, before the read's.
      expect(order).toEqual(['ping', 'read-back']);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'timeout',
        message: 'No answer within the ping timeout; the session was left open',
        session_id: sessionId,
        success: false,
      });
      expect(onChain(sim, sessionId).closedAt).toBe(0n);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: sessionId });
      sim.control.setChatBehaviour(sessionId, null);
      expect((await api.ping(key.auth)).body).toMatchObject({ status: 'alive', session_id: sessionId });
    });

    it.each([429, 503] as const)(
      'busy (the backend answers %i, passed through by the node): the session is left open and usable',
      async (status) => {
        const { key, sessionId } = await aKeyWithSession();
        sim.control.setChatBehaviour(sessionId, { mode: 'busy', status });
        const res = await api.ping(key.auth);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          status: 'busy',
          message: 'The provider is busy; the session was left open',
          session_id: sessionId,
          success: false,
        });
        expect(sim.counts()).toMatchObject({ chat: 1, close: 0 });
        expect(onChain(sim, sessionId).closedAt).toBe(0n);
        expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: sessionId });
        sim.control.setChatBehaviour(sessionId, null);
        expect((await api.ping(key.auth)).body).toMatchObject({ status: 'alive', session_id: sessionId });
      },
    );

    it('no_session', async () => {
      const key = await aKey(gateway);
      const res = await api.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(PING_NO_SESSION);
      expect(totalCalls(sim)).toBe(0);
    });

    it('the node unreachable: 503 and the session untouched', async () => {
      const { key, sessionId } = await aKeyWithSession();
      const res = await nodeDownApi.ping(key.auth);
      expect(res.status).toBe(503);
      expect(res.body).toEqual(UNREACHABLE);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: sessionId });
      expect(onChain(sim, sessionId).closedAt).toBe(0n);
      expect((await api.ping(key.auth)).body).toMatchObject({ status: 'alive', session_id: sessionId });
    });

    it('with the node unreachable and no session: no_session', async () => {
      const key = await aKey(gateway);
      const res = await nodeDownApi.ping(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(PING_NO_SESSION);
    });

    it("while the key's first session opens: 409", async () => {
      const { key, created, reachedNode } = await aKeyOpening();
      const [during, res] = await Promise.all([reachedNode.then(() => api.ping(key.auth)), created]);
      expect(during.status).toBe(409);
      expect(during.body).toEqual(OPENING);
      expect(res.status).toBe(200);
      expect(sim.counts().chat).toBe(0);
    });
  });

  // --- close -------------------------------------------------------------------------------

  describe('POST /api/v1/session/closesession', () => {
    it('closes on chain and in the gateway; then there is nothing to close', async () => {
      const { key, sessionId } = await aKeyWithSession();
      const res = await api.close(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true, message: 'Session closed successfully', session_id: sessionId });
      expect(onChain(sim, sessionId).closedAt).toBeGreaterThan(0n);
      expect(await closeReasonOf(sessionId)).toBe('closed_by_client');
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });

      const again = await api.close(key.auth);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(CLOSE_NO_SESSION);
      expect(sim.counts().close).toBe(1);
    });

    it('with no session: nothing to close, and no proxy-router needed', async () => {
      const key = await aKey(gateway);
      expect(await api.close(key.auth)).toMatchObject({ status: 200, body: CLOSE_NO_SESSION });
      expect(await nodeDownApi.close(key.auth)).toMatchObject({ status: 200, body: CLOSE_NO_SESSION });
      expect(totalCalls(sim)).toBe(0);
    });

    it('already closed on chain (by the node): still a success', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.closeSessionByNode(sessionId);
      const res = await api.close(key.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true, message: 'Session closed successfully', session_id: sessionId });
      expect(await api.current(key.auth)).toMatchObject({ status: 404, body: NO_SESSION });
    });

    it('the node fails the close (500): 502, and the session stays active', async () => {
      const { key, sessionId } = await aKeyWithSession();
      sim.control.failNext('close', { status: 500 });
      const res = await api.close(key.auth);
      expect(res.status).toBe(502);
      expect(res.body).toEqual(errorBody('proxy-router could not close the session', 'api_error', 'node_error'));
      expect(JSON.stringify(res.body)).not.toContain('simulated failure');
      expect(onChain(sim, sessionId).closedAt).toBe(0n);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: sessionId });
      expect((await api.close(key.auth)).body).toEqual({ success: true, message: 'Session closed successfully', session_id: sessionId });
    });

    it('the node unreachable: 503, and the session stays active', async () => {
      const { key, sessionId } = await aKeyWithSession();
      const res = await nodeDownApi.close(key.auth);
      expect(res.status).toBe(503);
      expect(res.body).toEqual(UNREACHABLE);
      expect(onChain(sim, sessionId).closedAt).toBe(0n);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: sessionId });
    });

    it("while the key's first session opens: 409, and the open is not closed", async () => {
      const { key, created, reachedNode } = await aKeyOpening();
      const [during, res] = await Promise.all([reachedNode.then(() => api.close(key.auth)), created]);
      expect(during.status).toBe(409);
      expect(during.body).toEqual(OPENING);
      expect(res.status).toBe(200);
      expect(sim.counts().close).toBe(0);
      expect((await api.current(key.auth)).body).toMatchObject({ status: 'active', session_id: res.body.session_id });
    });
  });

  // --- user tokens ---------------------------------------------------------------------------

  describe('user-token callers', () => {
    it('with no API key: 409 "Create an API key first" on every session route, nothing sent', async () => {
      const token = bearer(await aUserToken());
      const answers = [
        await api.createForModel(token, aModel(0).id),
        await api.createForBid(token, aPricierBid().id),
        await api.current(token),
        await api.ping(token),
        await api.close(token),
      ];
      for (const res of answers) expect({ status: res.status, body: res.body }).toEqual({ status: 409, body: NO_KEY });
      expect(totalCalls(sim)).toBe(0);
    });

    it("act on the user's default API key", async () => {
      const token = bearer(await aUserToken());
      const created = await call('POST', '/api/v1/auth/keys', { auth: token, body: { name: 'default' } });
      expect(created.status).toBe(201);
      const defaultKey = bearer(created.body.key as string);
      const other = await call('POST', '/api/v1/auth/keys', { auth: token, body: { name: 'second' } });
      expect(other.body).toMatchObject({ is_default: false });

      const res = await api.createForModel(token, aModel(0).id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ api_key_prefix: created.body.key_prefix, reused: false });
      const viaKey = await api.current(defaultKey);
      expect(viaKey.body).toMatchObject({ status: 'active', session_id: res.body.session_id, api_key_prefix: created.body.key_prefix });
      expect((await api.current(token)).body).toEqual(viaKey.body);
      expect((await api.current(bearer(other.body.key as string))).status).toBe(404);

      expect((await api.createForModel(defaultKey, aModel(0).id)).body).toMatchObject({ session_id: res.body.session_id, reused: true });
      expect((await api.ping(token)).body).toMatchObject({ status: 'alive', session_id: res.body.session_id });
      expect((await api.close(token)).body).toEqual({
        success: true,
        message: 'Session closed successfully',
        session_id: res.body.session_id,
      });
      expect((await api.current(defaultKey)).status).toBe(404);
      expect(sim.counts()).toMatchObject({ openModel: 1, close: 1 });
    });
  });

  // --- isolation and revocation --------------------------------------------------------------

  describe('isolation between keys', () => {
    it("user B can never read, ping or close user A's session, nor reuse it", async () => {
      const userA = await aKeyHolder(gateway);
      const model = aModel(0);
      const { key: keyA, sessionId } = await aKeyWithSession(model, await aKey(gateway, { holder: userA }));
      const keyB = await aKey(gateway);
      const sameUserOtherKey = await aKey(gateway, { holder: userA });

      const toB = [await api.current(keyB.auth), await api.ping(keyB.auth), await api.close(keyB.auth)];
      expect(toB.map((r) => [r.status, r.body])).toEqual([
        [404, NO_SESSION],
        [200, PING_NO_SESSION],
        [200, CLOSE_NO_SESSION],
      ]);
      expect(await api.current(sameUserOtherKey.auth)).toMatchObject({ status: 404, body: NO_SESSION });
      const ownOfB = await api.createForModel(keyB.auth, model.id);
      expect(ownOfB.body).toMatchObject({ reused: false, replaced_session_id: null, api_key_prefix: keyB.prefix });
      expect(ownOfB.body.session_id).not.toBe(sessionId);
      for (const res of [...toB, ownOfB]) expect(JSON.stringify(res.body)).not.toContain(sessionId);

      expect(onChain(sim, sessionId).closedAt).toBe(0n);
      expect(sim.counts()).toMatchObject({ close: 0, chat: 0, openModel: 1 });
      const ofA = await api.current(keyA.auth);
      expect(ofA.body).toMatchObject({ status: 'active', session_id: sessionId, api_key_prefix: keyA.prefix });
      expect((await api.ping(keyA.auth)).body).toMatchObject({ status: 'alive', session_id: sessionId });
    });
  });

  describe('revocation', () => {
    it('revoking a key closes its live session on chain in the background', async () => {
      const token = bearer(await aUserToken());
      const created = await call('POST', '/api/v1/auth/keys', { auth: token, body: {} });
      expect(created.status).toBe(201);
      const key = bearer(created.body.key as string);
      const res = await api.createForModel(key, aModel(0).id);
      expect(res.status).toBe(200);

      const revoked = await call('DELETE', `/api/v1/auth/keys/${created.body.id as string}`, { auth: token });
      expect(revoked).toMatchObject({ status: 200, body: { id: created.body.id, revoked: true } });
      await waitFor("the revoked key's session to be closed on chain", () => onChain(sim, res.body.session_id).closedAt > 0n, 5_000);
      expect(sim.counts().close).toBe(1);
      const rows = await waitFor('the session row to be closed', async () => {
        const found = await db.query<{ status: string; close_reason: string | null }>(
          'SELECT status, close_reason FROM sessions WHERE chain_session_id = $1',
          [res.body.session_id],
        );
        return found[0]?.status === 'closed' ? found : undefined;
      });
      expect(rows).toEqual([{ status: 'closed', close_reason: 'revoked' }]);
      expect((await api.current(key)).status).toBe(401);
    });
  });
});
