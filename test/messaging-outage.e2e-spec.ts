/**
 * NATS outages (docs/API.md §6 and §8, issue 5): NATS is down when the gateway starts, comes up,
 * goes down and comes back — on the same port, this file's own nats-server — while the one
 * gateway process keeps running. HTTP never depends on NATS; readiness lists it (never
 * critical); messages flow again once it is back, without restarting the app.
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { client, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  gatewayClient,
  type GatewayClientHandle,
  gatewayError,
  type NatsServer,
  natsServer,
  rawSubscribe,
  untilAnswered,
  waitForNatsStatus,
} from './support/nats';
import { aKey, gatewayEnv, openableModels, sessionApi, SIMULATOR, startGateway, type TestKey } from './support/kit';

jest.setTimeout(60_000);

/** "Within a few seconds": the gateway retries every 500 ms. */
const RECOVERY_MS = 5_000;
/** NATS down this long in stage 3–4: beyond nats.js's default 10 reconnect attempts × 2 s. */
const LONG_OUTAGE_MS = 24_000;

describe('NATS outages (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let nats: NatsServer;
  let gateway: TestApp;
  let key: TestKey;
  const clients: GatewayClientHandle[] = [];
  let call: ReturnType<typeof client>;
  let api: ReturnType<typeof sessionApi>;

  /** A typed client made now (short timeout: a lost message must fail fast, not hang the test). */
  async function newClient(): Promise<GatewayClientHandle> {
    const handle = await gatewayClient({ transport: 'nats', url: nats.url, timeoutMs: 2_000 });
    clients.push(handle);
    return handle;
  }

  beforeAll(async () => {
    db = await createTestDatabase('messaging_outage');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-outage-e2e' });
    nats = await natsServer(); // a free port, nothing listening on it yet
  });

  afterAll(async () => {
    for (const handle of clients) await handle.close().catch(() => undefined);
    await gateway?.close();
    await nats?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('starts with NATS down: HTTP serves, readiness 200 lists nats as down', async () => {
    expect(nats.running).toBe(false);
    gateway = await startGateway(gatewayEnv(db, sim, { NATS_URL: nats.url, LOG_LEVEL: 'warn' }));
    // Started and serving while NATS is still down: the start did not wait for it.
    expect(nats.running).toBe(false);
    call = client(gateway.url);
    api = sessionApi(gateway.url);
    key = await aKey(gateway);

    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.components.database).toEqual({ status: 'up' });
    expect(ready.body.components.nats).toMatchObject({ status: 'down' });
    const models = await call('GET', '/api/v1/models', { auth: key.auth });
    expect(models.status).toBe(200);
    expect(models.body.data.length).toBeGreaterThan(0);
  });

  it('NATS started: within a few seconds readiness shows it up and messages are answered, no restart', async () => {
    await nats.start();
    // Each wait fails past RECOVERY_MS.
    await waitForNatsStatus(gateway.url, 'up', RECOVERY_MS);
    const typed = await newClient();
    const listed = await untilAnswered(() => typed.client.listModels(key.auth), RECOVERY_MS);
    expect(listed).toEqual((await call('GET', '/api/v1/models', { auth: key.auth })).body);
    expect(await gatewayError(typed.client.getSession(key.auth))).toEqual({ status: 404, detail: 'No active session' });
  });

  /** When stage 3 stopped NATS. */
  let stoppedAt = 0;

  it('NATS stopped while running: readiness shows it down but stays 200, HTTP keeps working (sessions too)', async () => {
    await nats.stop();
    stoppedAt = Date.now();
    const ready = await waitForNatsStatus(gateway.url, 'down', RECOVERY_MS);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(await call('GET', '/health')).toMatchObject({ status: 200 });
    expect((await call('GET', '/api/v1/models', { auth: key.auth })).status).toBe(200);
    // An open publishes session.opened: with NATS down that must neither fail nor hold the request.
    const created = await api.createForModel(key.auth, openableModels(sim)[0], { body: { sessionDuration: 600 } });
    expect(created.status).toBe(200);
    // Answered while NATS is still down: the publish did not wait for it to come back.
    expect(nats.running).toBe(false);
    expect((await api.current(key.auth)).body).toMatchObject({ session_id: created.body.session_id, status: 'active' });
  });

  it(`NATS back after a long outage (${LONG_OUTAGE_MS / 1000} s): messages flow again and events are published, no restart`, async () => {
    // Longer than nats.js's default reconnect budget (10 attempts, 2 s apart): the gateway must still be trying.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + LONG_OUTAGE_MS - Date.now())));
    expect((await call('GET', '/health/ready')).body.components.nats).toMatchObject({ status: 'down' });
    await nats.start();
    // Each wait fails past RECOVERY_MS.
    await waitForNatsStatus(gateway.url, 'up', RECOVERY_MS);
    const current = (await api.current(key.auth)).body;

    const fresh = await newClient();
    expect(await untilAnswered(() => fresh.client.getSession(key.auth), RECOVERY_MS)).toEqual(current);

    const events = await rawSubscribe(nats.url, 'session.opened');
    try {
      const other = await aKey(gateway);
      const { session_id } = await fresh.client.createModelSession(other.auth, { model_id: openableModels(sim)[1] });
      const [event] = await events.waitFor(
        1,
        (m) => (m.body as { data?: { session_id?: string } }).data?.session_id === session_id,
        RECOVERY_MS,
      );
      expect(event.body).toMatchObject({ pattern: 'session.opened', data: { session_id, api_key_prefix: other.prefix } });
    } finally {
      await events.close();
    }
  });

  it('a typed client made before the outage answers again once NATS is back (it never stops reconnecting)', async () => {
    const current = (await api.current(key.auth)).body;
    expect(await untilAnswered(() => clients[0].client.getSession(key.auth), RECOVERY_MS)).toEqual(current);
  });
});
