/**
 * The proxy-router adapter against the simulator over real HTTP (basic auth on): every
 * operation, big integers beyond 2^53, and each failure class — with the simulator's call
 * counters proving that reads are retried and writes are sent exactly once.
 */
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { request } from 'undici';
import { type Simulator, startSimulator } from '../dev/simulator';
import { DomainError } from '../src/common/errors';
import { loadConfig } from '../src/config/app-config';
import {
  NoBidsAvailableError,
  NonceRejectedError,
  OutcomeUnknownError,
  ProviderCircuitOpenError,
  ProviderNotConfiguredError,
  ProviderTimeoutError,
  ProviderUnreachableError,
  ProviderUpstreamError,
  SessionNotFoundOnChainError,
} from '../src/proxy-router/errors';
import { NodeAdapter } from '../src/proxy-router/node.adapter';
import { createNodeAdapter } from '../src/proxy-router/proxy-router.module';
import { type ProxyRouterAdapterOptions, ProxyRouterAdapter, type ProxyRouterSettings } from '../src/proxy-router/proxy-router.adapter';

jest.setTimeout(30_000);

const USER = 'gateway';
const PASSWORD = 'pr-password-7f3e9a';
const TWO_POW_53 = 2n ** 53n;
const UNKNOWN_ID = `0x${'ab'.repeat(32)}`;
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** Everything the adapter logged and every error it raised: checked for secrets at the end. */
const logLines: string[] = [];
const raised: unknown[] = [];
const logger = { warn: (...args: unknown[]) => void logLines.push(inspect(args, { depth: 5 })) };

/** The error a call fails with (recorded for the secrets check). */
async function failureOf(promise: Promise<unknown>): Promise<DomainError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error('expected the call to fail');
  raised.push(outcome);
  if (!(outcome instanceof DomainError)) throw new Error('expected a DomainError', { cause: outcome });
  return outcome;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ProxyRouterAdapter against the simulator (e2e)', () => {
  let sim: Simulator;
  const adapters: ProxyRouterAdapter[] = [];

  /** An adapter with small timeouts and fast retries; overrides per test. */
  function anAdapter(settings: Partial<ProxyRouterSettings> = {}, options: ProxyRouterAdapterOptions = {}): ProxyRouterAdapter {
    const adapter = new ProxyRouterAdapter(
      { url: sim.url, username: USER, password: PASSWORD, timeoutMs: 3_000, sessionOpenTimeoutMs: 3_000, ...settings },
      { logger, retryInitialDelayMs: 10, retryMaxDelayMs: 50, ...options },
    );
    adapters.push(adapter);
    return adapter;
  }

  const live = () => sim.marketplace.liveModelIds[0];
  const openOne = (adapter: NodeAdapter, modelId = live(), sessionDuration = 3600) =>
    adapter.openSessionByModel(modelId, { sessionDuration, directPayment: false, failover: false });

  beforeAll(async () => {
    sim = await startSimulator({ username: USER, password: PASSWORD, seed: 'provider-adapter' });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.onModuleDestroy()));
    await sim.stop();
  });
  beforeEach(() => sim.reset());

  describe('reads', () => {
    it('lists every model across pages, deleted ones included, with exact stakes', async () => {
      const models = await anAdapter({}, { pageSize: 10 }).listModels();
      expect(sim.counts().models).toBe(3); // 25 models, pages of 10
      expect(models.map((m) => m.id)).toEqual(sim.marketplace.models.map((m) => m.id));
      expect(models.filter((m) => m.isDeleted).map((m) => m.id)).toEqual([sim.marketplace.deletedModelId]);

      const raw = await request(`${sim.url}/blockchain/models`, { headers: { authorization: BASIC } });
      const text = await raw.body.text();
      for (const model of models) {
        expect(model.stake > TWO_POW_53).toBe(true);
        expect(text).toContain(`"Stake":${model.stake.toString()}`);
        expect(model.id).toMatch(/^0x[0-9a-f]{64}$/);
        expect(model.owner).toMatch(/^0x[0-9a-f]{40}$/);
      }
    });

    it('reads the whole listing in one page at the default page size', async () => {
      await expect(anAdapter().listModels()).resolves.toHaveLength(sim.marketplace.models.length);
      expect(sim.counts().models).toBe(1);
    });

    it("lists a model's bids across pages, deleted ones included", async () => {
      const modelId = sim.marketplace.models[0].id;
      const bids = await anAdapter({}, { pageSize: 2 }).listBids(modelId);
      expect(bids.map((b) => b.id).sort()).toEqual([...sim.marketplace.models[0].bidIds].sort());
      expect(bids.find((b) => b.id === sim.marketplace.deletedBidId)?.deletedAt).toBeGreaterThan(0);
      expect(sim.counts().bids).toBe(2);
    });

    it('reads rated bids (live only, best first) and one bid', async () => {
      const adapter = anAdapter();
      const modelId = sim.marketplace.models[0].id;
      const rated = await adapter.ratedBids(modelId);
      expect(rated.map((r) => r.bid.id)).not.toContain(sim.marketplace.deletedBidId);
      expect(rated.length).toBeGreaterThan(0);
      expect(rated[0].score).toBe(1);

      const fixture = sim.marketplace.bids.find((b) => !b.isDeleted)!;
      await expect(adapter.getBid(fixture.id.toUpperCase().replace('0X', '0x'))).resolves.toMatchObject({
        id: fixture.id,
        provider: fixture.provider,
        modelId: fixture.modelId,
        pricePerSecond: fixture.pricePerSecond,
        deletedAt: 0,
      });
    });

    it('takes the zero-valued bid of an unknown id as null', async () => {
      await expect(anAdapter().getBid(UNKNOWN_ID)).resolves.toBeNull();
      expect(sim.counts().bid).toBe(1);
    });

    it("reads the wallet once, and the wallet's sessions across pages", async () => {
      const adapter = anAdapter({}, { pageSize: 2 });
      for (let i = 0; i < 3; i++) sim.control.commitSession({ modelId: live(), sessionDuration: 600 });
      await expect(adapter.walletAddress()).resolves.toBe(sim.walletAddress);
      const sessions = await adapter.walletSessions();
      expect(sessions.map((s) => s.id).sort()).toEqual(
        sim.control
          .sessions()
          .map((s) => s.id)
          .sort(),
      );
      expect(sessions.every((s) => s.user === sim.walletAddress)).toBe(true);
      expect(sim.counts().wallet).toBe(1);
      expect(sim.counts().userSessions).toBe(2);
    });

    it("reads the wallet's sessions newest first, only as far back as asked", async () => {
      for (let i = 0; i < 5; i++) sim.control.commitSession({ modelId: live(), sessionDuration: 600 });
      const newestFirst = sim.control
        .sessions()
        .map((s) => s.id)
        .reverse();
      const adapter = anAdapter({}, { pageSize: 2 });
      await adapter.walletAddress();

      sim.control.resetCounts();
      expect((await adapter.walletSessions({ limit: 1 })).map((s) => s.id)).toEqual(newestFirst.slice(0, 1));
      expect(sim.counts().userSessions).toBe(1);

      // Every session opened before a horizon in the future: the first page is the last one read.
      sim.control.resetCounts();
      const future = Math.floor(Date.now() / 1000) + 3600;
      expect((await adapter.walletSessions({ openedSince: future })).map((s) => s.id)).toEqual(newestFirst.slice(0, 2));
      expect(sim.counts().userSessions).toBe(1);

      sim.control.resetCounts();
      expect((await adapter.walletSessions({ openedSince: 0 })).map((s) => s.id)).toEqual(newestFirst);
      expect(sim.counts().userSessions).toBe(3);
    });

    it('answers the healthcheck', async () => {
      await expect(anAdapter().health()).resolves.toBeUndefined();
    });
  });

  describe('sessions', () => {
    it('opens by model and reads the session back, stake beyond 2^53 exact', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      expect(id).toMatch(/^0x[0-9a-f]{64}$/);
      const onChain = await adapter.getSession(id);
      const record = sim.control.getSession(id)!;
      expect(onChain).toEqual({
        id,
        user: sim.walletAddress,
        provider: record.provider,
        modelId: live(),
        bidId: record.bidId,
        stake: record.stake,
        pricePerSecond: record.pricePerSecond.toString(),
        openedAt: Number(record.openedAt),
        endsAt: record.openedAt + 3600n,
        closedAt: 0n,
      });
      expect(onChain!.stake > TWO_POW_53).toBe(true);
      expect(sim.counts().openModel).toBe(1);
    });

    it('keeps an EndsAt beyond 2^53 exact, in one session and in the wallet listing', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      const endsAt = 2n ** 64n + 12_345n;
      sim.control.setSessionEndsAt(id, endsAt);
      expect((await adapter.getSession(id))?.endsAt).toBe(endsAt);
      expect((await adapter.walletSessions()).find((s) => s.id === id)?.endsAt).toBe(endsAt);
    });

    it('opens by bid', async () => {
      const adapter = anAdapter();
      const bidId = sim.marketplace.liveBidIds[1];
      const id = await adapter.openSessionByBid(bidId, { sessionDuration: 600 });
      expect((await adapter.getSession(id))?.bidId).toBe(bidId);
      expect(sim.counts().openBid).toBe(1);
    });

    it('closes, and a second close is "already closed"', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      await expect(adapter.closeSession(id)).resolves.toEqual({ alreadyClosed: false });
      expect((await adapter.getSession(id))!.closedAt > 0n).toBe(true);
      await expect(adapter.closeSession(id)).resolves.toEqual({ alreadyClosed: true });
      expect(sim.counts().close).toBe(2);
    });

    it('takes an unknown session as null, and refuses to close one (404)', async () => {
      const adapter = anAdapter();
      await expect(adapter.getSession(UNKNOWN_ID)).resolves.toBeNull();
      expect(sim.counts().session).toBe(1); // "session not found" is an answer, not retried
      const error = await failureOf(adapter.closeSession(UNKNOWN_ID));
      expect(error).toBeInstanceOf(SessionNotFoundOnChainError);
      expect(error.status).toBe(404);
    });

    it('reports "no bids available" for a model without bids', async () => {
      const error = await failureOf(openOne(anAdapter(), sim.marketplace.modelWithoutBidsId));
      expect(error).toBeInstanceOf(NoBidsAvailableError);
      expect(sim.counts().openModel).toBe(1);
    });
  });

  describe('ping', () => {
    it('is alive at the first chunk', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      await expect(adapter.ping(id, 2_000)).resolves.toEqual({ kind: 'alive' });
      expect(sim.counts().chat).toBe(1);
    });

    it('is dead on a node error, a stream error event, or an unknown session', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      sim.control.setChatBehaviour(id, { mode: 'error' });
      await expect(adapter.ping(id, 2_000)).resolves.toEqual({ kind: 'dead', reason: 'the node or the provider failed (HTTP 500)' });
      sim.control.setChatBehaviour(id, { mode: 'error', afterChunks: 0 });
      await expect(adapter.ping(id, 2_000)).resolves.toEqual({ kind: 'dead', reason: 'the provider failed while answering' });
      await expect(adapter.ping(UNKNOWN_ID, 2_000)).resolves.toEqual({ kind: 'dead', reason: 'session not found' });
    });

    it('is expired when the node says so, or past EndsAt', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      sim.control.setChatBehaviour(id, { mode: 'expired' });
      await expect(adapter.ping(id, 2_000)).resolves.toEqual({ kind: 'expired' });
      const other = await openOne(adapter);
      sim.control.expireSession(other);
      await expect(adapter.ping(other, 2_000)).resolves.toEqual({ kind: 'expired' });
    });

    it('times out when no chunk comes in time, and the session is usable again', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      sim.control.setChatBehaviour(id, { mode: 'hang' });
      // The ping's own deadline (300 ms) ends it, before a read the node answers after 1 s.
      sim.control.setLatency('models', 1_000);
      const order: string[] = [];
      const ping = adapter.ping(id, 300).then((result) => (order.push('ping'), result));
      const read = adapter.listModels().then(() => order.push('read answered'));
      await expect(ping).resolves.toEqual({ kind: 'timeout' });
      await read;
      expect(order).toEqual(['ping', 'read answered']);
      sim.control.setLatency('models', 0);
      sim.control.setChatBehaviour(id, null);
      await expect(adapter.ping(id, 2_000)).resolves.toEqual({ kind: 'alive' });
    });

    it('throws "unreachable" when the node cannot be reached (never "dead")', async () => {
      const adapter = anAdapter({ url: `http://127.0.0.1:${await closedPort()}` });
      expect(await failureOf(adapter.ping(UNKNOWN_ID, 1_000))).toBeInstanceOf(ProviderUnreachableError);
    });
  });

  describe('failures', () => {
    it('a 4xx answer is a short 502, not retried', async () => {
      sim.control.failNext('models', { status: 400, error: 'Key: QueryOffsetLimitOrderNoDefault.Limit failed' });
      const error = await failureOf(anAdapter().listModels());
      expect(error).toBeInstanceOf(ProviderUpstreamError);
      expect(error).toMatchObject({ status: 502, detail: 'proxy-router answered with an error' });
      expect(sim.counts().models).toBe(1);
    });

    it('a 5xx of a read is retried (with backoff) and can succeed', async () => {
      sim.control.failNext('models', { status: 500 });
      await expect(anAdapter().listModels()).resolves.toHaveLength(sim.marketplace.models.length);
      expect(sim.counts().models).toBe(2);
    });

    it('a lasting 5xx of a read is a 502 after the retries', async () => {
      sim.control.failNext('bid', { status: 500, times: 5 });
      const error = await failureOf(anAdapter().getBid(sim.marketplace.liveBidIds[0]));
      expect(error).toBeInstanceOf(ProviderUpstreamError);
      expect(sim.counts().bid).toBe(3); // 1 + 2 retries
    });

    it('connection refused is a 503 "unreachable", for reads and writes', async () => {
      const adapter = anAdapter({ url: `http://127.0.0.1:${await closedPort()}` });
      const read = await failureOf(adapter.listModels());
      expect(read).toBeInstanceOf(ProviderUnreachableError);
      expect(read).toMatchObject({ status: 503, detail: 'proxy-router unreachable' });
      // Nothing reached the node: a definite failure, not an unknown outcome.
      expect(await failureOf(openOne(adapter, UNKNOWN_ID))).toBeInstanceOf(ProviderUnreachableError);
      expect(await failureOf(adapter.health())).toBeInstanceOf(ProviderUnreachableError);
    });

    it('a read past PROXY_ROUTER_TIMEOUT_MS is a 504, retries included', async () => {
      sim.control.setLatency('models', 1_500);
      // Given up (retries included) before the node answers: a patient adapter's same read gets that answer later.
      const order: string[] = [];
      const patient = anAdapter({ timeoutMs: 3_000 })
        .listModels()
        .then(() => order.push('the node answered'));
      const error = await failureOf(anAdapter({ timeoutMs: 300 }).listModels());
      order.push('timed out');
      await patient;
      expect(order).toEqual(['timed out', 'the node answered']);
      expect(error).toBeInstanceOf(ProviderTimeoutError);
      expect(error).not.toBeInstanceOf(OutcomeUnknownError);
      expect(error).toMatchObject({ status: 504, outcomeUnknown: false });
      expect(sim.counts().models).toBe(2); // one attempt each: a timeout is not retried
    });

    it('an open past SESSION_OPEN_TIMEOUT_MS has an unknown outcome (504) and is sent once', async () => {
      sim.control.hangNext('openModel', { commit: true });
      const error = await failureOf(openOne(anAdapter({ sessionOpenTimeoutMs: 300 })));
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toBeInstanceOf(ProviderTimeoutError);
      expect(error).toMatchObject({
        status: 504,
        outcomeUnknown: true,
        reason: 'timeout',
        detail: 'The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session',
      });
      expect(sim.counts().openModel).toBe(1);
      expect(sim.control.sessions()).toHaveLength(1); // it did land: hence "unknown", never "failed"
    });

    it('a connection lost after a close was sent has an unknown outcome and is not re-sent', async () => {
      const adapter = anAdapter();
      const id = await openOne(adapter);
      sim.control.hangNext('close');
      const closing = failureOf(adapter.closeSession(id));
      await sleep(150);
      sim.control.releaseHeld();
      const error = await closing;
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toMatchObject({ reason: 'connection_lost', operation: 'close' });
      expect(sim.counts().close).toBe(1);
    });

    it.each([
      'failed to send transaction: replacement transaction underpriced',
      'transaction underpriced',
      'nonce too high',
      'invalid nonce',
    ])('"%s" is a nonce rejection: safe to resend, sent once', async (text) => {
      sim.control.failNext('openModel', { error: text });
      const error = await failureOf(openOne(anAdapter()));
      expect(error).toBeInstanceOf(NonceRejectedError);
      expect(error).toMatchObject({ status: 502, retrySafe: true });
      expect(sim.counts().openModel).toBe(1);
    });

    it.each(['failed to send transaction: nonce too low', 'already known'])(
      '"%s" is an unknown outcome, never a rejection, sent once',
      async (text) => {
        sim.control.failNext('openBid', { error: text, commit: true });
        const error = await failureOf(anAdapter().openSessionByBid(sim.marketplace.liveBidIds[0], { sessionDuration: 600 }));
        expect(error).toBeInstanceOf(OutcomeUnknownError);
        expect(error).toMatchObject({ status: 504, reason: 'nonce_ambiguous' });
        expect(sim.counts().openBid).toBe(1);
      },
    );

    it('a 5xx of an open or a close is not retried: each is sent exactly once', async () => {
      const adapter = anAdapter();
      sim.control.failNext('openModel', { status: 500 });
      expect(await failureOf(openOne(adapter))).toBeInstanceOf(ProviderUpstreamError);
      const id = await openOne(adapter);
      sim.control.failNext('close', { status: 503 });
      expect(await failureOf(adapter.closeSession(id))).toBeInstanceOf(ProviderUpstreamError);
      expect(sim.counts()).toMatchObject({ openModel: 2, close: 1 });
    });

    it('wrong credentials are a 502 that says so, without echoing them', async () => {
      const error = await failureOf(anAdapter({ password: 'not-the-password' }).listModels());
      expect(error).toMatchObject({ status: 502, detail: "proxy-router refused the gateway's credentials" });
    });
  });

  describe('circuit breaker', () => {
    it('opens after consecutive transport failures, fails fast, and recovers', async () => {
      const node = await startSimulator({ username: USER, password: PASSWORD, seed: 'breaker' });
      const adapter = anAdapter({ url: node.url }, { breakerThreshold: 2, halfOpenAfterMs: 400, readRetries: 0 });
      await expect(adapter.listModels()).resolves.toHaveLength(node.marketplace.models.length);
      await node.stop();

      expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderUnreachableError);
      expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderUnreachableError);
      // Failing fast: with the circuit open no connection is even tried (something listens on the port now).
      let connections = 0;
      const listener = createServer((socket) => (connections++, socket.destroy()));
      await new Promise<void>((resolve) => listener.listen(node.port, '127.0.0.1', resolve));
      const open = await failureOf(adapter.listModels());
      expect(open).toBeInstanceOf(ProviderCircuitOpenError);
      expect(open.status).toBe(503);
      expect(await failureOf(openOne(adapter))).toBeInstanceOf(ProviderCircuitOpenError); // writes too
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      expect(connections).toBe(0);

      const back = await startSimulator({ port: node.port, username: USER, password: PASSWORD, seed: 'breaker' });
      try {
        // Readiness probes bypass the breaker: they see the node back at once…
        await expect(adapter.health()).resolves.toBeUndefined();
        // …while calls keep failing fast until the half-open trial.
        expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderCircuitOpenError);
        expect(back.counts().models).toBe(0);
        await sleep(450);
        await expect(adapter.listModels()).resolves.toHaveLength(back.marketplace.models.length);
        await expect(adapter.getBid(back.marketplace.liveBidIds[0])).resolves.not.toBeNull();
      } finally {
        await back.stop();
      }
    });

    it('counts timeouts, but never an answer, even a 500', async () => {
      const adapter = anAdapter({ timeoutMs: 200 }, { breakerThreshold: 2, halfOpenAfterMs: 60_000, readRetries: 0 });
      sim.control.failNext('models', { status: 500, times: 5 });
      for (let i = 0; i < 5; i++) expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderUpstreamError);

      sim.control.setLatency('models', 1_000);
      expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderTimeoutError);
      expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderTimeoutError);
      expect(await failureOf(adapter.listModels())).toBeInstanceOf(ProviderCircuitOpenError);
      expect(sim.counts().models).toBe(7);
    });

    it('does not count a ping that times out on a busy session', async () => {
      const adapter = anAdapter({}, { breakerThreshold: 1, halfOpenAfterMs: 60_000 });
      const id = await openOne(adapter);
      sim.control.setChatBehaviour(id, { mode: 'hang' });
      await expect(adapter.ping(id, 200)).resolves.toEqual({ kind: 'timeout' });
      await expect(adapter.listModels()).resolves.toHaveLength(sim.marketplace.models.length);
    });
  });

  describe('without PROXY_ROUTER_URL', () => {
    it('every call fails at once with 503 "proxy-router not configured"', async () => {
      const adapter = createNodeAdapter(loadConfig({}));
      const calls: Array<Promise<unknown>> = [
        adapter.listModels(),
        adapter.listBids(UNKNOWN_ID),
        adapter.ratedBids(UNKNOWN_ID),
        adapter.getBid(UNKNOWN_ID),
        adapter.openSessionByModel(UNKNOWN_ID, { sessionDuration: 60, directPayment: false, failover: false }),
        adapter.openSessionByBid(UNKNOWN_ID, { sessionDuration: 60 }),
        adapter.closeSession(UNKNOWN_ID),
        adapter.getSession(UNKNOWN_ID),
        adapter.walletAddress(),
        adapter.walletSessions(),
        adapter.ping(UNKNOWN_ID, 1_000),
        adapter.health(),
        adapter.balance(),
        adapter.sessionsBudget(),
        adapter.tokenSupply(),
        adapter.stakesOnHold(1),
        adapter.withdrawStakes(1),
      ];
      // At once: every call has failed before the event loop's next turn (no I/O, no timer).
      let settled = 0;
      for (const call of calls) void call.catch(() => settled++);
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(calls.length);
      for (const call of calls) {
        const error = await failureOf(call);
        expect(error).toBeInstanceOf(ProviderNotConfiguredError);
        expect(error).toMatchObject({ status: 503, code: 'proxy_router_not_configured', detail: 'proxy-router not configured' });
      }
    });
  });

  // Runs last (jest keeps declaration order): everything above was recorded.
  describe('secrets', () => {
    it('no error and no log line holds the password, a Basic header or the node address', () => {
      expect(raised.length).toBeGreaterThan(20);
      // The adapter logs ping outcomes; every other failure's facts travel on the error, for its handler's one log line.
      expect(logLines.length).toBeGreaterThan(0);
      expect(raised.filter((error) => error instanceof DomainError && Object.keys(error.logFields).length > 0).length).toBeGreaterThan(10);
      const host = new URL(sim.url).host;
      const texts = [
        ...logLines,
        ...raised.map((error) => inspect(error, { depth: 5 })),
        ...raised.map((error) => JSON.stringify(error)),
        ...raised.map((error) => (error instanceof Error ? `${error.message} ${error.stack ?? ''}` : String(error))),
      ];
      for (const text of texts) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain('not-the-password');
        expect(text).not.toMatch(/basic /i);
        expect(text).not.toContain(host);
        expect(text).not.toContain('127.0.0.1');
      }
    });
  });
});
