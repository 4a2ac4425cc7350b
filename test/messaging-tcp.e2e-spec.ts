/**
 * The internal interface over TCP (docs/API.md §6, issue 5): without NATS_URL the gateway listens
 * on MICROSERVICE_HOST:MICROSERVICE_PORT. The same core e2e as over NATS, through the typed
 * client's TCP transport.
 */
import { connect } from 'node:net';
import { type Simulator, startSimulator } from '../dev/simulator';
import type { ValidationIssue } from '../src/common/errors';
import { client, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { gatewayClient, type GatewayClientHandle, gatewayError } from './support/nats';
import { freePort } from './support/process';
import { aKey, gatewayEnv, HEX32, openableModels, sessionApi, settleBackground, SIMULATOR, startGateway, totalCalls } from './support/kit';

jest.setTimeout(60_000);

/**
 * One request written as Nest's TCP transport frames it (`<length>#<json>`), as a raw string
 * (the typed client could not serialise 10,000 levels), and the reply frame's JSON.
 */
function rawTcpRequest(
  port: number,
  json: string,
): Promise<{ err?: { status: number; code: string; detail: unknown }; response?: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${json.length}#${json}`));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const hash = received.indexOf('#');
      if (hash < 0 || received.length - hash - 1 < Number(received.slice(0, hash))) return;
      socket.destroy();
      resolve(JSON.parse(received.slice(hash + 1)) as { err?: { status: number; code: string; detail: unknown } });
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a whole reply: ${received.slice(0, 200)}`)));
  });
}

describe('internal interface over TCP (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let port: number;
  let typed: GatewayClientHandle;
  let api: ReturnType<typeof sessionApi>;

  beforeAll(async () => {
    db = await createTestDatabase('messaging_tcp');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-tcp-e2e' });
    port = await freePort();
    gateway = await startGateway(
      gatewayEnv(db, sim, { MICROSERVICE_HOST: '127.0.0.1', MICROSERVICE_PORT: String(port), LOG_LEVEL: 'warn' }),
    );
    await settleBackground(gateway);
    typed = await gatewayClient({ transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 15_000 });
    api = sessionApi(gateway.url);
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await typed?.close();
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });

  it('listens on MICROSERVICE_PORT; readiness lists NATS as not configured', async () => {
    const ready = await client(gateway.url)('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.components.nats).toEqual({ status: 'not_configured' });
  });

  it('create, get and close by message; HTTP sees the same session', async () => {
    const key = await aKey(gateway);
    const model = openableModels(sim)[0];
    const created = await typed.client.createModelSession(key.auth, { model_id: model, sessionDuration: 600 });
    expect(created).toMatchObject({ success: true, api_key_prefix: key.prefix, model, reused: false, replaced_session_id: null });
    expect(created.session_id).toMatch(HEX32);
    expect(sim.counts().openModel).toBe(1);

    const current = await typed.client.getSession(key.auth);
    expect(current).toMatchObject({ session_id: created.session_id, status: 'active', api_key_prefix: key.prefix });
    expect(current).toEqual((await api.current(key.auth)).body);

    // A bare `sk-…` credential works as over HTTP.
    expect(await typed.client.getSession(key.key)).toEqual(current);

    expect(await typed.client.closeSession(key.auth)).toEqual({
      success: true,
      message: 'Session closed successfully',
      session_id: created.session_id,
    });
    expect(sim.counts().close).toBe(1);
    await expect(typed.client.getSession(key.auth)).rejects.toMatchObject({ status: 404, detail: 'No active session', code: 'no_session' });
    expect((await api.current(key.auth)).status).toBe(404);
  });

  it('refuses a message without (valid) authorization: 401 with the HTTP detail, nothing opened', async () => {
    const model = openableModels(sim)[0];
    const http = await api.createForModel(undefined, model);
    expect(http.status).toBe(401);
    const detail = (http.body as unknown as { detail: string }).detail;
    const none = undefined as unknown as string;
    expect(await gatewayError(typed.client.createModelSession(none, { model_id: model }))).toEqual({ status: 401, detail });
    expect(await gatewayError(typed.client.getSession(none))).toEqual({ status: 401, detail });
    expect(await gatewayError(typed.client.closeSession(none))).toEqual({ status: 401, detail });
    expect(await gatewayError(typed.client.listModels(none))).toEqual({ status: 401, detail });
    const forged = 'Bearer sk-AbCd1234.' + 'x'.repeat(43);
    const httpForged = await api.createForModel(forged, model);
    expect(httpForged.status).toBe(401);
    expect(await gatewayError(typed.client.createModelSession(forged, { model_id: model }))).toEqual({
      status: 401,
      detail: (httpForged.body as unknown as { detail: string }).detail,
    });
    expect(totalCalls(sim)).toBe(0);
  });

  it('a payload nested 10,000 levels deep is a 422 json_invalid at ["payload"] (was an internal error), nothing opened', async () => {
    const key = await aKey(gateway);
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const data = `{"authorization":${JSON.stringify(key.auth)},"model_id":${deep}}`;
    const reply = await rawTcpRequest(port, `{"pattern":"session.create_model","data":${data},"id":"deep-1"}`);
    expect(reply.err).toEqual({
      status: 422,
      code: 'validation_error',
      detail: [{ loc: ['payload'], msg: 'JSON nested too deeply: more than 8 levels', type: 'json_invalid' }],
    });
    // The same 9 levels over HTTP and over TCP; 8 levels reach the field, whose type is wrong.
    const nine = `{"authorization":${JSON.stringify(key.auth)},"model_id":${'['.repeat(8)}1${']'.repeat(8)}}`;
    expect((await rawTcpRequest(port, `{"pattern":"session.create_model","data":${nine},"id":"deep-2"}`)).err).toMatchObject({
      status: 422,
      detail: [{ loc: ['payload'], type: 'json_invalid' }],
    });
    const eight = `{"authorization":${JSON.stringify(key.auth)},"model_id":${'['.repeat(7)}1${']'.repeat(7)}}`;
    expect((await rawTcpRequest(port, `{"pattern":"session.create_model","data":${eight},"id":"deep-3"}`)).err).toMatchObject({
      status: 422,
      detail: [{ loc: ['payload', 'model_id'], type: 'string_type' }],
    });
    expect(gateway.logs()).not.toMatch(/"level":(50|60)/);
    expect(totalCalls(sim)).toBe(0);
  });

  it('a bad payload: 422 with the HTTP detail, `loc` starting with payload', async () => {
    const key = await aKey(gateway);
    const http = await api.createForModel(key.auth, openableModels(sim)[0], { body: { sessionDuration: 'abc' } });
    expect(http.status).toBe(422);
    const detail = (http.body as unknown as { detail: ValidationIssue[] }).detail;
    expect(
      await gatewayError(typed.client.createModelSession(key.auth, { model_id: openableModels(sim)[0], sessionDuration: 'abc' as never })),
    ).toEqual({
      status: 422,
      detail: detail.map((issue) => ({ ...issue, loc: ['payload', ...issue.loc.slice(1)] })),
    });
    expect(totalCalls(sim)).toBe(0);
  });
});
