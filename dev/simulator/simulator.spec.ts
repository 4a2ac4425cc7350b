import { request } from 'undici';
import { type Simulator, startSimulator } from './server';

/** The simulator over real HTTP on localhost: behaviours that span requests. */
describe('proxy-router simulator (HTTP)', () => {
  let sim: Simulator;
  const auth = `Basic ${Buffer.from('admin:secret').toString('base64')}`;

  beforeAll(async () => {
    sim = await startSimulator({ username: 'admin', password: 'secret', seed: 'simulator-spec' });
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  async function call(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ) {
    const res = await request(`${sim.url}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', ...options.headers },
      body: options.body === undefined || typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
      signal: options.signal,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  const openModel = (modelId = sim.marketplace.liveModelIds[0]) =>
    call('POST', `/blockchain/models/${modelId}/session`, { body: { sessionDuration: 3600 } });
  const sessionIdOf = (text: string): string => (JSON.parse(text) as { sessionID: string }).sessionID;
  const chat = (sessionId: string, signal?: AbortSignal) =>
    call('POST', '/v1/chat/completions', {
      body: { messages: [{ role: 'user', content: 'hi' }], stream: true },
      headers: { session_id: sessionId },
      signal,
    });

  it('refuses node routes without the basic auth, but not the healthcheck', async () => {
    const wallet = await request(`${sim.url}/wallet`);
    expect(wallet.statusCode).toBe(401);
    expect(await wallet.body.json()).toEqual({ error: 'unauthorized' });
    const health = await request(`${sim.url}/healthcheck`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });

  it('serves one chat per session at a time, in arrival order', async () => {
    const sessionId = sessionIdOf((await openModel()).text);
    sim.control.setChatBehaviour(sessionId, { mode: 'normal', chunks: 3, chunkDelayMs: 80 });
    let firstEndedAt = 0;
    const first = chat(sessionId).then((res) => ((firstEndedAt = Date.now()), res));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const secondHeadersAt = request(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: auth, session_id: sessionId },
      body: JSON.stringify({ stream: true }),
    }).then(async (res) => {
      const at = Date.now();
      await res.body.text();
      return at;
    });

    expect((await first).text).toContain('data: [DONE]');
    expect(await secondHeadersAt).toBeGreaterThanOrEqual(firstEndedAt);
  });

  it('keeps the session busy while a chat hangs, until that client gives up', async () => {
    const sessionId = sessionIdOf((await openModel()).text);
    sim.control.setChatBehaviour(sessionId, { mode: 'hang' });
    const hung = chat(sessionId, AbortSignal.timeout(300)).catch((error: Error) => error.name);
    await new Promise((resolve) => setTimeout(resolve, 50));
    sim.control.setChatBehaviour(sessionId, null);
    const startedAt = Date.now();
    const next = await chat(sessionId);

    expect(await hung).toMatch(/Abort|Timeout/);
    expect(next.status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
  });

  it('answers chat on an expired or closed session as the node does', async () => {
    const sessionId = sessionIdOf((await openModel()).text);
    sim.control.expireSession(sessionId);
    expect(await chat(sessionId)).toEqual({ status: 500, text: '{"error":"session expired"}' });
    await call('POST', `/blockchain/sessions/${sessionId}/close`);
    expect(await chat(sessionId)).toEqual({ status: 500, text: '{"error":"session not found"}' });
  });

  it('fails overlapping writes beyond K with a nonce conflict (nonce-conflict mode)', async () => {
    sim.control.setNonceConflict(1);
    sim.control.setLatency('openModel', 150);
    const results = await Promise.all([openModel(), openModel(), openModel()]);

    expect(results.map((r) => r.status).sort()).toEqual([200, 500, 500]);
    const failed = results.filter((r) => r.status === 500).map((r) => (JSON.parse(r.text) as { error: string }).error);
    expect(failed.every((message) => message.includes('replacement transaction underpriced'))).toBe(true);
    expect(sim.control.sessions()).toHaveLength(1);
    expect((await openModel()).status).toBe(200);
  });

  it('fails the next N calls as scripted, optionally after the write landed', async () => {
    sim.control.failNext('openModel', { error: 'failed to send transaction: nonce too low', commit: true });
    sim.control.failNext('openModel', { status: 503, body: 'upstream down' });

    expect(await openModel()).toEqual({ status: 500, text: '{"error":"failed to send transaction: nonce too low"}' });
    expect(sim.control.sessions()).toHaveLength(1);
    expect(await openModel()).toEqual({ status: 503, text: 'upstream down' });
    expect((await openModel()).status).toBe(200);
    expect(sim.counts().openModel).toBe(3);
  });

  it('commits an open that never answers; the session shows in the wallet listing', async () => {
    sim.control.hangNext('openBid', { commit: true });
    const bidId = sim.marketplace.liveBidIds[2];
    const outcome = await call('POST', `/blockchain/bids/${bidId}/session`, {
      body: { sessionDuration: 600 },
      signal: AbortSignal.timeout(200),
    }).catch((error: Error) => error.name);
    expect(outcome).toMatch(/Abort|Timeout/);

    const listing = await call('GET', `/blockchain/sessions/user?user=${sim.walletAddress}`);
    expect(listing.text).toContain(bidId);
    expect(sim.control.sessions()[0].bidId).toBe(bidId);
  });

  it('records the opens it receives, flags as parsed, until a reset', async () => {
    const [modelId, bidId] = [sim.marketplace.liveModelIds[0], sim.marketplace.liveBidIds[1]];
    await call('POST', `/blockchain/models/${modelId}/session`, { body: { sessionDuration: 600, directPayment: true, failover: true } });
    await call('POST', `/blockchain/bids/${bidId}/session`, { body: { sessionDuration: 900, failover: true } });
    expect(sim.control.receivedOpens()).toEqual([
      { op: 'openModel', target: modelId, sessionDuration: 600n, directPayment: true, failover: true },
      // The node's bid route reads only sessionDuration.
      { op: 'openBid', target: bidId, sessionDuration: 900n, directPayment: false, failover: false },
    ]);
    const overHttp = JSON.parse((await call('GET', '/__sim/opens')).text) as { opens: { op: string; failover: boolean }[] };
    expect(overHttp.opens.map(({ op, failover }) => ({ op, failover }))).toEqual([
      { op: 'openModel', failover: true },
      { op: 'openBid', failover: false },
    ]);
    sim.reset();
    expect(sim.control.receivedOpens()).toEqual([]);
  });

  it('answers chat as a busy backend would, through the node: 429 or 503 with providerModelError', async () => {
    const sessionId = sessionIdOf((await openModel()).text);
    const post = (path: string, body: unknown) => call('POST', `/__sim/${path}`, { body });
    expect((await post('chat-behaviour', { sessionId, mode: 'busy', status: 503 })).status).toBe(200);
    const busy = await chat(sessionId);
    expect(busy.status).toBe(503);
    expect(JSON.parse(busy.text)).toMatchObject({ providerModelError: { error: expect.any(Object) }, statusCode: 503 });
    expect((await post('chat-behaviour', { sessionId, mode: 'busy', status: 500 })).status).toBe(400);
    sim.control.setChatBehaviour(sessionId, { mode: 'busy' });
    expect((await chat(sessionId)).status).toBe(429);
  });

  it('is driven over HTTP under /__sim/ too', async () => {
    const post = (path: string, body: unknown) => call('POST', `/__sim/${path}`, { body, headers: { authorization: '' } });
    expect((await post('fail-next', { op: 'wallet', status: 500, error: 'boom' })).status).toBe(200);
    expect(await call('GET', '/wallet')).toEqual({ status: 500, text: '{"error":"boom"}' });

    const opened = await post('sessions', { modelId: sim.marketplace.liveModelIds[3], sessionDuration: 120 });
    const sessionId = sessionIdOf(opened.text);
    // A raw body: JSON.stringify would already round 2^53 + 1.
    const expired = await post(`sessions/${sessionId}/expire`, '{"endsAt": 9007199254740993}');
    expect(expired.text).toContain('"EndsAt":9007199254740993');
    expect((await post(`sessions/${sessionId}/close-by-node`, {})).text).not.toContain('"ClosedAt":0');

    expect((await post('latency', { op: 'nope', ms: 1 })).status).toBe(400);
    expect((await post('sessions/0x00/expire', {})).status).toBe(404);
    const counts = JSON.parse((await call('GET', '/__sim/counts')).text) as Record<string, number>;
    expect(counts.wallet).toBe(1);
    expect((await post('reset', {})).status).toBe(200);
    expect(sim.control.sessions()).toHaveLength(0);
  });
});
