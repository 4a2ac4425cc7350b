/**
 * A secured NATS (issue 11): the gateway logs in to a nats-server this file starts with the
 * README's authorization block (users and subject permissions), and to a second one with
 * TLS (client certificates verified) and a token. A service user can call the gateway but
 * can neither read the requests (which carry every caller's credential), nor join the
 * gateway's queue group, nor forge session events; a client without credentials cannot
 * connect. Certificates are made by `openssl` here, for this run only.
 *
 * Never the shared NATS: see test/support/nats.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect,
  type ConnectionOptions,
  credsAuthenticator,
  ErrorCode,
  JSONCodec,
  type NatsConnection,
  NatsError,
  type Status,
} from 'nats';
import { type Simulator, startSimulator } from '../dev/simulator';
import { startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  gatewayClient,
  type GatewayClientHandle,
  gatewayError,
  type NatsServer,
  rawSubscribe,
  startNatsServer,
  untilAnswered,
  waitForNatsStatus,
} from './support/nats';
import { natsTrust } from './support/nats-jwt';
import { ROOT } from './support/process';
import { aKey, gatewayEnv, openableModels, sessionApi, settleBackground, SIMULATOR, totalCalls, waitFor } from './support/kit';

jest.setTimeout(90_000);

const GATEWAY_PASSWORD = 'gw-nats-pw-81f3c0';
const SERVICE_PASSWORD = 'svc-nats-pw-2b9e44';
const GATEWAY_TOKEN = 'gw-nats-token-5d0a7e';
const REQUEST_SUBJECTS = ['session.create_model', 'session.create_bid', 'session.get', 'session.ping', 'session.close', 'models.list'];
const json = JSONCodec();

/** The README's ready-made nats-server block (README "Securing NATS"): the test runs exactly what operators copy. */
function readmeNatsConfig(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf('\n### Securing NATS\n');
  if (section === -1) throw new Error('README.md has no "### Securing NATS" section');
  const block = /```conf\n([\s\S]*?)```/.exec(readme.slice(section));
  if (!block) throw new Error('README.md "Securing NATS" has no ```conf block');
  return block[1];
}

interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'nats-pki-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '1', '-subj', '/CN=gateway-test-ca');
  const issue = (name: string, extensions: string) => {
    writeFileSync(at(`${name}.ext`), extensions);
    openssl('req', ...ec, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      at(`${name}.ext`),
      '-out',
      at(`${name}.pem`),
    );
  };
  // nats.js names the server `localhost` when it dials an IP address: the certificate carries both.
  issue('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
}

/** A plain nats.js connection that records the server's `-ERR` permission violations. */
async function natsUser(url: string, options: Omit<ConnectionOptions, 'servers'>) {
  const nc: NatsConnection = await connect({ ...options, servers: [url] });
  const violations: Array<{ operation: string; subject: string; queue?: string }> = [];
  void (async () => {
    for await (const status of nc.status() as AsyncIterable<
      Status & { permissionContext?: { operation: string; subject: string; queue?: string } }
    >) {
      if (status.data === ErrorCode.PermissionsViolation && status.permissionContext) violations.push(status.permissionContext);
    }
  })();
  return { nc, violations };
}

/** What connecting failed with (fails if it connected). */
async function refusedConnection(url: string, options: Omit<ConnectionOptions, 'servers'>): Promise<string> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ ...options, servers: [url], reconnect: false, timeout: 5_000 });
  } catch (error) {
    return error instanceof NatsError ? error.code : String(error);
  }
  await nc.close();
  throw new Error(`connected to ${url} with ${JSON.stringify(Object.keys(options))}`);
}

describe('a secured NATS (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let pki: Pki;
  let nats: NatsServer;
  let natsTls: NatsServer;
  let gateway: TestApp;
  let tlsGateway: TestApp;
  let service: GatewayClientHandle;
  let api: ReturnType<typeof sessionApi>;

  beforeAll(async () => {
    db = await createTestDatabase('messaging_nats_auth');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-nats-auth-e2e' });
    pki = makePki();
    nats = await startNatsServer(undefined, {
      config: readmeNatsConfig(),
      env: { GATEWAY_NATS_PASSWORD: GATEWAY_PASSWORD, CHAT_PROXY_NATS_PASSWORD: SERVICE_PASSWORD },
    });
    natsTls = await startNatsServer(undefined, {
      config: [
        `tls { cert_file: "${pki.serverCert}", key_file: "${pki.serverKey}", ca_file: "${pki.ca}", verify: true, timeout: 5 }`,
        'authorization { token: $GATEWAY_NATS_TOKEN }',
      ].join('\n'),
      env: { GATEWAY_NATS_TOKEN: GATEWAY_TOKEN },
    });
    // The reported failure: credentials inside NATS_URL used to end in "Authorization Violation".
    const natsUrl = nats.url.replace('nats://', `nats://gateway:${GATEWAY_PASSWORD}@`);
    gateway = await startTestApp(gatewayEnv(db, sim, { NATS_URL: natsUrl, LOG_LEVEL: 'info' }));
    await settleBackground(gateway);
    await waitForNatsStatus(gateway.url, 'up');
    service = await gatewayClient({ transport: 'nats', url: nats.url, user: 'chat-proxy', password: SERVICE_PASSWORD, timeoutMs: 15_000 });
    api = sessionApi(gateway.url);
  });

  afterAll(async () => {
    await service?.close();
    await tlsGateway?.close();
    await gateway?.close();
    await natsTls?.stop();
    await nats?.stop();
    await sim?.stop();
    await db?.drop();
  });

  beforeEach(() => sim.reset());

  it('the gateway logs in with the user in NATS_URL, serves a service user and publishes events; the password is never logged', async () => {
    const key = await aKey(gateway);
    expect(await untilAnswered(() => gatewayError(service.client.getSession(key.auth)))).toEqual({
      status: 404,
      detail: 'No active session',
    });

    const events = await rawSubscribe(nats.url, 'session.opened', { user: 'chat-proxy', pass: SERVICE_PASSWORD });
    try {
      const created = await api.createForModel(key.auth, openableModels(sim)[0], { body: { sessionDuration: 600 } });
      expect(created.status).toBe(200);
      expect(await service.client.getSession(key.auth)).toEqual((await api.current(key.auth)).body);
      const [opened] = await events.waitFor(1);
      expect(opened.body).toMatchObject({
        pattern: 'session.opened',
        data: { session_id: created.body.session_id, api_key_prefix: key.prefix },
      });
    } finally {
      await events.close();
    }
    expect(gateway.logs()).not.toContain(GATEWAY_PASSWORD);
  });

  it("the typed client's inboxPrefix puts its replies under that prefix (what per-service inbox permissions rely on)", async () => {
    const key = await aKey(gateway);
    const replies = await rawSubscribe(nats.url, '_INBOX.chat-proxy.>', { user: 'chat-proxy', pass: SERVICE_PASSWORD });
    const prefixed = await gatewayClient({
      transport: 'nats',
      url: `nats://chat-proxy:${SERVICE_PASSWORD}@127.0.0.1:${nats.port}`,
      inboxPrefix: '_INBOX.chat-proxy',
      timeoutMs: 15_000,
    });
    try {
      expect(await gatewayError(prefixed.client.getSession(key.auth))).toEqual({ status: 404, detail: 'No active session' });
      const [reply] = await replies.waitFor(1);
      expect(reply.body).toMatchObject({ err: { status: 404, detail: 'No active session' } });
    } finally {
      await prefixed.close();
      await replies.close();
    }
  });

  it('a client without credentials, or with a wrong password, cannot connect', async () => {
    expect(await refusedConnection(nats.url, {})).toBe(ErrorCode.AuthorizationViolation);
    expect(await refusedConnection(nats.url, { user: 'chat-proxy', pass: 'guessed' })).toBe(ErrorCode.AuthorizationViolation);
    expect(await refusedConnection(nats.url, { user: 'gateway', pass: SERVICE_PASSWORD })).toBe(ErrorCode.AuthorizationViolation);
  });

  it('a service user can neither read the requests nor join the session-gateway queue group: every request reaches the gateway alone', async () => {
    const key = await aKey(gateway);
    const rogue = await natsUser(nats.url, { user: 'chat-proxy', pass: SERVICE_PASSWORD });
    const captured: string[] = [];
    const record = (_: unknown, msg: { subject: string }) => captured.push(msg.subject);
    try {
      rogue.nc.subscribe('>', { callback: record });
      rogue.nc.subscribe('session.*', { callback: record });
      for (const subject of REQUEST_SUBJECTS) rogue.nc.subscribe(subject, { queue: 'session-gateway', callback: record });
      await rogue.nc.flush();
      await waitFor('a violation for every subscription', () => rogue.violations.length >= 2 + REQUEST_SUBJECTS.length);
      expect(rogue.violations.map((v) => `${v.operation} ${v.subject} ${v.queue ?? ''}`.trim()).sort()).toEqual(
        [
          'subscription >',
          'subscription session.*',
          ...REQUEST_SUBJECTS.map((subject) => `subscription ${subject} session-gateway`),
        ].sort(),
      );

      // Twenty requests carrying the caller's key: all answered by the gateway, none seen by the rogue.
      const answers = await Promise.all(Array.from({ length: 20 }, () => gatewayError(service.client.getSession(key.auth))));
      expect(answers).toEqual(Array.from({ length: 20 }, () => ({ status: 404, detail: 'No active session' })));
      await rogue.nc.flush();
      expect(captured).toEqual([]);
    } finally {
      await rogue.nc.close();
    }
  });

  it('a service user cannot publish session events (a forged session.dead reaches nobody) nor answer as the gateway', async () => {
    const listener = await rawSubscribe(nats.url, 'session.dead', { user: 'chat-proxy', pass: SERVICE_PASSWORD });
    const rogue = await natsUser(nats.url, { user: 'chat-proxy', pass: SERVICE_PASSWORD });
    const genuine = await connect({ servers: [nats.url], user: 'gateway', pass: GATEWAY_PASSWORD });
    try {
      rogue.nc.publish('session.dead', json.encode({ pattern: 'session.dead', data: { session_id: 'forged' } }));
      rogue.nc.publish('session.opened', json.encode({ pattern: 'session.opened', data: { session_id: 'forged' } }));
      // A forged reply to some caller's inbox: only the gateway answers requests.
      rogue.nc.publish('_INBOX.victim.1', json.encode({ id: 'x', response: { session_id: 'forged' }, isDisposed: true }));
      await rogue.nc.flush();
      // The server handled the forgeries before this flush returned; anything published
      // afterwards (by the gateway's user) reaches the listener after them, had they passed.
      genuine.publish('session.dead', json.encode({ pattern: 'session.dead', data: { session_id: 'genuine' } }));
      await genuine.flush();
      await listener.waitFor(1);
      expect(listener.messages.map((m) => (m.body as { data: { session_id: string } }).data.session_id)).toEqual(['genuine']);
      await waitFor('a violation for each forgery', () => rogue.violations.length >= 3);
      expect(rogue.violations).toEqual([
        { operation: 'publish', subject: 'session.dead', queue: undefined },
        { operation: 'publish', subject: 'session.opened', queue: undefined },
        { operation: 'publish', subject: '_INBOX.victim.1', queue: undefined },
      ]);
    } finally {
      await genuine.close();
      await rogue.nc.close();
      await listener.close();
    }
  });

  it('a NATS request over MESSAGE_MAX_BYTES is answered 413, one nested 10,000 levels 422, neither reaching a handler', async () => {
    const key = await aKey(gateway);
    const big = await gatewayError(service.client.createModelSession(key.auth, { model_id: 'x'.repeat(950_000) }));
    expect(big).toEqual({ status: 413, detail: 'Message too large (limit 921600 bytes)' });
    // JSON.stringify cannot even write 10,000 levels: the request is written by hand, as an attacker would.
    const raw = await connect({ servers: [nats.url], user: 'chat-proxy', pass: SERVICE_PASSWORD });
    try {
      const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
      const text = `{"pattern":"session.create_model","data":{"authorization":${JSON.stringify(key.auth)},"model_id":"m","deep":${deep}},"id":"deep-1"}`;
      const reply = await raw.request('session.create_model', new TextEncoder().encode(text), { timeout: 10_000 });
      expect(json.decode(reply.data)).toEqual({
        id: 'deep-1',
        err: {
          status: 422,
          detail: [{ loc: ['payload'], msg: 'JSON nested too deeply: more than 8 levels', type: 'json_invalid' }],
          code: 'validation_error',
        },
        isDisposed: true,
      });
      const garbage = await raw.request('session.get', new TextEncoder().encode('{"pattern":'), { timeout: 10_000 });
      expect(json.decode(garbage.data)).toMatchObject({
        err: { status: 422, detail: [{ loc: ['payload'], msg: 'JSON decode error', type: 'json_invalid' }], code: 'validation_error' },
      });
    } finally {
      await raw.close();
    }
    expect(totalCalls(sim)).toBe(0);
    // The gateway is still serving.
    expect(await gatewayError(service.client.getSession(key.auth))).toEqual({ status: 404, detail: 'No active session' });
  });

  describe('over TLS with a token', () => {
    beforeAll(async () => {
      tlsGateway = await startTestApp(
        gatewayEnv(db, sim, {
          NATS_URL: natsTls.url,
          NATS_TOKEN: GATEWAY_TOKEN,
          NATS_TLS_CA: pki.ca,
          NATS_TLS_CERT: pki.clientCert,
          NATS_TLS_KEY: pki.clientKey,
          LOG_LEVEL: 'info',
        }),
      );
      await waitForNatsStatus(tlsGateway.url, 'up');
    });

    it('the gateway connects with its CA, client certificate and token, and serves session.get to a TLS client', async () => {
      const key = await aKey(tlsGateway);
      const client = await gatewayClient({
        transport: 'nats',
        url: natsTls.url,
        token: GATEWAY_TOKEN,
        tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey },
        timeoutMs: 15_000,
      });
      try {
        expect(await untilAnswered(() => gatewayError(client.client.getSession(key.auth)))).toEqual({
          status: 404,
          detail: 'No active session',
        });
      } finally {
        await client.close();
      }
      expect(tlsGateway.logs()).not.toContain(GATEWAY_TOKEN);
    });

    it('refuses clients without TLS, without the CA, without a client certificate or without the token', async () => {
      const tls = { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey };
      const refusals = {
        plain: await refusedConnection(natsTls.url, { token: GATEWAY_TOKEN, tls: null }),
        unknownCa: await refusedConnection(natsTls.url, { token: GATEWAY_TOKEN, tls: { certFile: tls.certFile, keyFile: tls.keyFile } }),
        noClientCert: await refusedConnection(natsTls.url, { token: GATEWAY_TOKEN, tls: { caFile: pki.ca } }),
        noToken: await refusedConnection(natsTls.url, { tls }),
      };
      expect(refusals.noToken).toBe(ErrorCode.AuthorizationViolation);
      // The TLS failures surface as connection errors of several kinds; none of them connected.
      for (const code of [refusals.plain, refusals.unknownCa, refusals.noClientCert]) expect(code).not.toBe('');
    });
  });
  describe('with NKEY/JWT credentials (NATS_CREDS_FILE)', () => {
    let natsJwt: NatsServer;
    let credsGateway: TestApp;
    let serviceCreds: string;

    beforeAll(async () => {
      const trust = natsTrust(mkdtempSync(join(tmpdir(), 'nats-jwt-')));
      // The README's permissions as user JWT claims, except replies: nats-server 2.9 did not
      // apply a user JWT's `resp` here (its replies were publish violations), so the gateway
      // may publish to `_INBOX.>` instead.
      const gatewayCreds = trust.userCreds('gateway', {
        sub: { allow: ['session.* session-gateway', 'models.* session-gateway', 'inference.* session-gateway'] },
        pub: { allow: ['session.opened', 'session.closed', 'session.expired', 'session.dead', '_INBOX.>'] },
      });
      serviceCreds = trust.userCreds('chat-proxy', {
        pub: { allow: REQUEST_SUBJECTS },
        sub: { allow: ['_INBOX.>', 'session.opened', 'session.closed', 'session.expired', 'session.dead'] },
      });
      natsJwt = await startNatsServer(undefined, { config: trust.config });
      credsGateway = await startTestApp(gatewayEnv(db, sim, { NATS_URL: natsJwt.url, NATS_CREDS_FILE: gatewayCreds, LOG_LEVEL: 'info' }));
      await waitForNatsStatus(credsGateway.url, 'up');
    });

    afterAll(async () => {
      await credsGateway?.close();
      await natsJwt?.stop();
    });

    it('the gateway logs in with its creds file and serves a service that logs in with its own; that service cannot read requests', async () => {
      const key = await aKey(credsGateway);
      const client = await gatewayClient({ transport: 'nats', url: natsJwt.url, credsFile: serviceCreds, timeoutMs: 15_000 });
      const rogue = await natsUser(natsJwt.url, { authenticator: credsAuthenticator(readFileSync(serviceCreds)) });
      try {
        expect(await untilAnswered(() => gatewayError(client.client.getSession(key.auth)))).toEqual({
          status: 404,
          detail: 'No active session',
        });
        rogue.nc.subscribe('session.get', { queue: 'session-gateway' });
        await rogue.nc.flush();
        await waitFor('a violation', () => rogue.violations.length >= 1);
        expect(rogue.violations).toEqual([{ operation: 'subscription', subject: 'session.get', queue: 'session-gateway' }]);
      } finally {
        await rogue.nc.close();
        await client.close();
      }
      expect(await refusedConnection(natsJwt.url, {})).toBe(ErrorCode.AuthorizationViolation);
    });
  });
});
