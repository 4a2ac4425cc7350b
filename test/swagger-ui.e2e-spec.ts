/**
 * Swagger UI at /docs in a real browser (issue 6; docs/API.md §2 and §8): Debian's Chromium,
 * driven by playwright-core, against the real gateway (fresh PostgreSQL database), the
 * proxy-router simulator (basic auth on) and a dev OIDC issuer of its own. That issuer must
 * know the gateway's URL before it starts (the Swagger client's redirect URI and CORS
 * origin), so the gateway is started on a port picked beforehand.
 *
 * Flows:
 *  (1) OAuth2 login in the popup → POST /api/v1/auth/keys → the new key in APIKeyAuth,
 *      OAuth2 logged out → modelsession answers with a session bound to that key.
 *  (2) The OAuth2 token alone: a key created in the UI, then /models and modelsession acting
 *      on the user's default key.
 *  (3) An API key alone: modelsession → pingsession "alive" → closesession.
 *  Plus: the JWT bearer field (GET /auth/me), examples and answers of every route in the
 *  spec, and no request leaving 127.0.0.1 from the docs page (no CDN).
 * Screenshots: test-output/swagger/ (git-ignored).
 */
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../dev/simulator';
import { createApp } from '../src/app.factory';
import { ApiKeyService } from '../src/auth/api-key.service';
import { LOCAL_ISSUER, UserService } from '../src/auth/user.service';
import { loadConfig } from '../src/config/app-config';
import { bearer, client } from './support/app';
import { isLoopbackUrl, launchChromium, type LoopbackContext, newLoopbackContext, Screenshots, SwaggerUi } from './support/browser';
import { createTestDatabase, type TestDatabase } from './support/database';
import { type DevIssuer, loginForTokens, startDevIssuer } from './support/oidc';
import { freePort } from './support/process';

jest.setTimeout(60_000);

const SIM_USER = 'gateway';
const SIM_PASSWORD = 'swagger-ui-e2e-pr-password-3c9a';
const PASSWORD = 'any-password-the-dev-issuer-ignores';
const HEX32 = /^0x[0-9a-f]{64}$/;
const KEY_SHAPE = /^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{32,}$/;
const SCOPES = ['openid', 'email', 'profile'];

interface Gateway {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

/** The real application on a port chosen beforehand (startTestApp listens on a random one). */
async function startGatewayOn(port: number, env: Record<string, string>): Promise<Gateway> {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const config = loadConfig({ LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), MICROSERVICE_PORT: '0', ...env });
  const app = await createApp({ config, logSink: quiet });
  await app.listen(port, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

describe('Swagger UI in a browser (e2e)', () => {
  let browser: Browser;
  let issuer: DevIssuer;
  let sim: Simulator;
  let db: TestDatabase;
  let gateway: Gateway;
  let shots: Screenshots;
  let model: { id: string; name: string };
  let current: LoopbackContext | undefined;

  /** A fresh browser context (no stored authorization) with Swagger UI open in it. */
  async function openDocs(): Promise<SwaggerUi> {
    current = await newLoopbackContext(browser);
    return SwaggerUi.open(current.context, `${gateway.url}/docs`, shots);
  }

  /** A live model with live bids whose name is unique (so it resolves by name too). */
  function usableModel(): { id: string; name: string } {
    const market = sim.marketplace;
    const found = market.models.find(
      (m) =>
        market.liveModelIds.includes(m.id) &&
        m.name !== market.duplicateName &&
        m.id !== market.modelWithoutBidsId &&
        m.bidIds.some((bid) => market.liveBidIds.includes(bid)),
    );
    if (!found) throw new Error('the simulator has no live model with bids');
    return { id: found.id, name: found.name };
  }

  /** Logs in with OAuth2 and creates a key in the UI; the dialog is closed afterwards. */
  async function loginAndCreateKey(ui: SwaggerUi, username: string, shotPrefix: string) {
    await ui.openAuthorizeDialog();
    await ui.loginWithOAuth2({ username, password: PASSWORD });
    await ui.closeAuthorizeDialog();
    const created = await ui.tryItOut('auth', 'AuthController_create', {
      body: JSON.stringify({ name: `${username}-key` }),
      screenshot: `${shotPrefix}-create-key-201`,
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(KEY_SHAPE);
    return created.body as { key: string; key_prefix: string; is_default: boolean };
  }

  beforeAll(async () => {
    // First: without Chromium nothing here can run, and the error says how to install it.
    browser = await launchChromium();
    shots = new Screenshots('swagger');
    const port = await freePort();
    issuer = await startDevIssuer({ gatewayUrl: `http://127.0.0.1:${port}` });
    sim = await startSimulator({ username: SIM_USER, password: SIM_PASSWORD });
    db = await createTestDatabase('swagger_ui');
    gateway = await startGatewayOn(port, {
      DATABASE_URL: db.url,
      PROXY_ROUTER_URL: sim.url,
      PROXY_ROUTER_USERNAME: SIM_USER,
      PROXY_ROUTER_PASSWORD: SIM_PASSWORD,
      OIDC_ISSUER_URL: issuer.issuer,
      OIDC_CLIENT_ID: issuer.clientId,
      OIDC_CLIENT_SECRET: issuer.clientSecret,
      OIDC_AUDIENCE: issuer.audience,
      OIDC_SWAGGER_CLIENT_ID: issuer.swaggerClientId,
      PING_TIMEOUT_MS: '5000',
      SESSION_SWEEP_INTERVAL_S: '3600',
    });
    model = usableModel();
  });

  afterEach(async () => {
    const finished = current;
    current = undefined;
    if (!finished) return;
    await finished.context.close();
    // Neither Swagger UI nor the dev issuer's login page ever leaves the loopback.
    expect(finished.externalRequests()).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await issuer?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('serves the docs from the gateway alone (no CDN) and offers OAuth2, BearerAuth and APIKeyAuth', async () => {
    const context = await newLoopbackContext(browser);
    current = context;
    const requests: string[] = [];
    context.context.on('request', (request) => requests.push(request.url()));

    const ui = await SwaggerUi.open(context.context, `${gateway.url}/docs`, shots);
    await ui.page.waitForLoadState('networkidle');
    await ui.openAuthorizeDialog();

    expect(requests.filter((url) => !isLoopbackUrl(url))).toEqual([]);
    const assets = requests.map((url) => new URL(url).pathname);
    expect(assets).toEqual(
      expect.arrayContaining(['/docs', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/swagger-ui-init.js']),
    );
    for (const name of ['OAuth2', 'BearerAuth', 'APIKeyAuth']) await expect(ui.scheme(name).count()).resolves.toBe(1);
    await expect(ui.scheme('BearerAuth').locator('input#auth-bearer-value').isVisible()).resolves.toBe(true);
    await expect(ui.scheme('APIKeyAuth').locator('input#api_key_value').isVisible()).resolves.toBe(true);
    await shots.take(ui.dialog, '0-authorize-dialog-three-schemes');
  });

  it('documents every route with its security, example bodies and answers (the spec Swagger UI renders)', async () => {
    const spec = (await client(gateway.url)('GET', '/api/v1/openapi.json')).body as OpenApi;

    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual(['APIKeyAuth', 'BearerAuth', 'OAuth2']);
    const flow = spec.components.securitySchemes.OAuth2.flows.authorizationCode;
    expect(flow.authorizationUrl).toBe(`${issuer.issuer}/auth`);
    expect(flow.tokenUrl).toBe(`${issuer.issuer}/token`);
    expect(Object.keys(flow.scopes).sort()).toEqual([...SCOPES].sort());

    const seen: string[] = [];
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${path}`;
        seen.push(route);
        // Every route: a success answer, and an example Swagger UI can show for each answer.
        expect([route, Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status))]).toEqual([route, true]);
        for (const [status, answer] of Object.entries(operation.responses)) {
          expect([route, status, missingExamples(spec, answer.content?.['application/json']?.schema, '')]).toEqual([route, status, []]);
        }
        // Every route with a body: example bodies to pick from in "Try it out".
        if (operation.requestBody) {
          const body = operation.requestBody.content['application/json'];
          const examples = body.example !== undefined ? 1 : Object.keys(body.examples ?? {}).length;
          expect([route, 'request body examples', examples > 0]).toEqual([route, 'request body examples', true]);
        }
        const expected = DOCUMENTED[route];
        if (!expected) continue; // a route docs/API.md does not list: the checks above still apply
        // The contract's routes: their answers, body and security schemes.
        expect([route, Object.keys(operation.responses)]).toEqual([route, expect.arrayContaining(expected.answers)]);
        expect([route, Boolean(operation.requestBody)]).toEqual([route, expected.body]);
        const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)).sort();
        expect([route, schemes]).toEqual([route, [...expected.schemes].sort()]);
      }
    }
    expect(seen).toEqual(expect.arrayContaining(Object.keys(DOCUMENTED)));
  });

  it('(1) OAuth2 login → create a key → that key alone (OAuth2 logged out) opens a model session', async () => {
    const ui = await openDocs();
    await ui.openAuthorizeDialog();

    // The public PKCE client is pre-filled; the three scopes are offered, checked and selectable.
    const oauth2 = ui.scheme('OAuth2');
    await expect(oauth2.locator('input#client_id_authorizationCode').inputValue()).resolves.toBe(issuer.swaggerClientId);
    await expect(oauth2.locator('.flow code').innerText()).resolves.toBe('authorizationCode with PKCE');
    for (const scope of SCOPES) {
      const box = oauth2.locator(`input[type="checkbox"][data-value="${scope}"]`);
      await expect(box.isChecked()).resolves.toBe(true);
    }
    const profile = oauth2.locator('input[type="checkbox"][data-value="profile"]');
    await oauth2.locator(`label[for="${await profile.getAttribute('id')}"]`).click();
    await expect(profile.isChecked()).resolves.toBe(false);
    await oauth2.locator(`label[for="${await profile.getAttribute('id')}"]`).click();
    await expect(profile.isChecked()).resolves.toBe(true);
    await shots.take(ui.dialog, '1-authorize-dialog');

    const login = await ui.loginWithOAuth2({
      username: 'alice-swagger',
      password: PASSWORD,
      loginShot: '1-login-page',
      authorizedShot: '1-authorized',
    });
    const query = login.authorizationUrl.searchParams;
    expect(`${login.authorizationUrl.origin}${login.authorizationUrl.pathname}`).toBe(`${issuer.issuer}/auth`);
    expect(query.get('client_id')).toBe(issuer.swaggerClientId);
    expect(query.get('redirect_uri')).toBe(`${gateway.url}/docs/oauth2-redirect.html`);
    expect(query.get('response_type')).toBe('code');
    expect(query.get('code_challenge_method')).toBe('S256');
    expect((query.get('scope') ?? '').split(' ').sort()).toEqual([...SCOPES].sort());
    await expect(oauth2.locator('h6', { hasText: 'Authorized' }).isVisible()).resolves.toBe(true);
    await ui.closeAuthorizeDialog();

    // "Try it out" with the example body Swagger UI pre-fills.
    const keysOp = await ui.startTryingOut('auth', 'AuthController_create');
    await expect(
      keysOp
        .locator('textarea.body-param__text')
        .inputValue()
        .then((text) => JSON.parse(text)),
    ).resolves.toEqual({ name: 'ci-bot' });
    const created = await ui.tryItOut('auth', 'AuthController_create', { screenshot: '1-create-key-201' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci-bot', key: expect.stringMatching(KEY_SHAPE), is_default: true });
    const key: string = created.body.key;
    expect(created.curl).toMatch(/Authorization: Bearer [A-Za-z0-9_-]+'/); // the OAuth2 access token

    // The key into APIKeyAuth; OAuth2 logged out, so the key is the only credential sent.
    await ui.openAuthorizeDialog();
    await ui.authorizeWithValue('APIKeyAuth', key);
    await ui.logout('OAuth2');
    await expect(ui.isAuthorized('OAuth2')).resolves.toBe(false);
    await expect(ui.isAuthorized('APIKeyAuth')).resolves.toBe(true);
    await shots.take(ui.dialog, '1-api-key-only');
    await ui.closeAuthorizeDialog();

    const opened = await ui.tryItOut('sessions', 'SessionController_createForModel', {
      params: { model_id: model.id },
      body: '{}',
      screenshot: '1-modelsession-200',
    });
    expect(opened.curl).toContain(`Authorization: ${key}'`);
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({
      success: true,
      message: 'Session created and associated with API key',
      session_id: expect.stringMatching(HEX32),
      api_key_prefix: created.body.key_prefix,
      model: model.id,
      reused: false,
    });
    // The gateway recorded it for that key.
    const now = await client(gateway.url)('GET', '/api/v1/session', { auth: bearer(key) });
    expect(now.body).toMatchObject({ session_id: opened.body.session_id, status: 'active' });
  });

  it('(2) the OAuth2 token alone lists models and opens a session on the default key', async () => {
    const ui = await openDocs();
    const created = await loginAndCreateKey(ui, 'bob-swagger', '2');
    expect(created.is_default).toBe(true);
    await ui.openAuthorizeDialog();
    await expect(ui.isAuthorized('OAuth2')).resolves.toBe(true);
    await expect(ui.isAuthorized('APIKeyAuth')).resolves.toBe(false);
    await expect(ui.isAuthorized('BearerAuth')).resolves.toBe(false);
    await ui.closeAuthorizeDialog();

    const models = await ui.tryItOut('models', 'ModelsController_list', { screenshot: '2-models-200' });
    expect(models.status).toBe(200);
    expect(models.curl).not.toContain('sk-');
    expect(models.body.object).toBe('list');
    expect(models.body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: model.name, blockchainID: model.id, object: 'model' })]),
    );

    // By name this time: the answer names the resolved blockchain id.
    const opened = await ui.tryItOut('sessions', 'SessionController_createForModel', {
      params: { model_id: model.name },
      body: '{}',
      screenshot: '2-modelsession-200',
    });
    expect(opened.curl).not.toContain('sk-');
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({
      success: true,
      session_id: expect.stringMatching(HEX32),
      api_key_prefix: created.key_prefix,
      model: model.id,
    });
  });

  it('(3) an API key alone: open, ping ("alive") and close from the UI', async () => {
    const user = await gateway.app.get(UserService).resolve(LOCAL_ISSUER, 'carol-swagger');
    const { key } = await gateway.app.get(ApiKeyService).create(user.id, 'swagger-e2e');
    const ui = await openDocs();
    await ui.openAuthorizeDialog();
    // "Bearer " is optional for API keys; Swagger UI sends what is typed.
    await ui.authorizeWithValue('APIKeyAuth', `Bearer ${key}`);
    await ui.closeAuthorizeDialog();

    const opened = await ui.tryItOut('sessions', 'SessionController_createForModel', {
      params: { model_id: model.id },
      body: JSON.stringify({ sessionDuration: 3600 }),
      screenshot: '3-modelsession-200',
    });
    expect(opened.status).toBe(200);
    const sessionId: string = opened.body.session_id;
    expect(sessionId).toMatch(HEX32);

    const ping = await ui.tryItOut('sessions', 'SessionController_ping', { screenshot: '3-pingsession-alive' });
    expect(ping.curl).toContain(`Authorization: Bearer ${key}'`);
    expect(ping).toMatchObject({
      status: 200,
      body: { status: 'alive', message: 'Session is alive', session_id: sessionId, success: true },
    });

    const closed = await ui.tryItOut('sessions', 'SessionController_close', { screenshot: '3-closesession-closed' });
    expect(closed).toMatchObject({ status: 200, body: { success: true, message: 'Session closed successfully', session_id: sessionId } });

    const after = await ui.tryItOut('sessions', 'SessionController_current', { screenshot: '3-session-404' });
    expect(after).toMatchObject({ status: 404, body: { detail: 'No active session' } });

    // persistAuthorization is off: the pasted key is in no storage and a reload forgets it.
    const storage = String(await ui.page.evaluate('JSON.stringify([window.localStorage, window.sessionStorage])'));
    expect(storage).not.toContain(key.split('.')[1]);
    await ui.page.reload();
    await ui.page.locator('.opblock').first().waitFor();
    await ui.openAuthorizeDialog();
    expect(await ui.isAuthorized('APIKeyAuth')).toBe(false);
    await ui.closeAuthorizeDialog();
  });

  it('BearerAuth: a JWT pasted into the dialog authenticates GET /api/v1/auth/me', async () => {
    const tokens = await loginForTokens(
      { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
      { username: 'dave-swagger', resource: issuer.audience },
    );
    expect(tokens.access_token.split('.')).toHaveLength(3);
    const ui = await openDocs();
    await ui.openAuthorizeDialog();
    await ui.authorizeWithValue('BearerAuth', tokens.access_token);
    await shots.take(ui.dialog, '4-bearer-authorized');
    await ui.closeAuthorizeDialog();

    const me = await ui.tryItOut('auth', 'AuthController_me', { screenshot: '4-me-200' });
    expect(me.curl).toContain(`Authorization: Bearer ${tokens.access_token}'`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ issuer: issuer.issuer, subject: 'dave-swagger', email: 'dave-swagger@example.test' });
  });
});

// ---------------------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------------------

interface Schema {
  $ref?: string;
  example?: unknown;
  type?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}

interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}

interface Operation {
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
  security?: Record<string, string[]>[];
}

interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    securitySchemes: Record<string, any>;
  };
}

const ALL = ['OAuth2', 'BearerAuth', 'APIKeyAuth'];
const USER_TOKENS = ['OAuth2', 'BearerAuth'];
const NODE = ['502', '503', '504'];
/** RATE_LIMIT_PER_MIN applies to session and model routes (docs/API.md §1, §7). */
const LIMITED = '429';

/** docs/API.md §2–§5 and §8: each route, its schemes, whether it takes a body, its answers. */
const DOCUMENTED: Record<string, { schemes: string[]; body: boolean; answers: string[] }> = {
  'GET /health': { schemes: [], body: false, answers: ['200'] },
  'GET /health/ready': { schemes: [], body: false, answers: ['200', '503'] },
  'GET /api/v1/auth/me': { schemes: USER_TOKENS, body: false, answers: ['200', '401', '403'] },
  'POST /api/v1/auth/keys': { schemes: USER_TOKENS, body: true, answers: ['201', '401', '403', '409', '422'] },
  'GET /api/v1/auth/keys': { schemes: USER_TOKENS, body: false, answers: ['200', '401', '403'] },
  'PUT /api/v1/auth/keys/{id}/default': { schemes: USER_TOKENS, body: false, answers: ['200', '401', '403', '404', '409'] },
  'DELETE /api/v1/auth/keys/{id}': { schemes: USER_TOKENS, body: false, answers: ['200', '401', '403', '404'] },
  'POST /api/v1/session/modelsession': { schemes: ALL, body: true, answers: ['200', '401', '404', '409', '422', LIMITED, ...NODE] },
  'POST /api/v1/session/bidsession': { schemes: ALL, body: true, answers: ['200', '401', '404', '409', '422', LIMITED, ...NODE] },
  'GET /api/v1/session': { schemes: ALL, body: false, answers: ['200', '401', '404', '409', LIMITED] },
  'POST /api/v1/session/pingsession': { schemes: ALL, body: false, answers: ['200', '401', '409', LIMITED, ...NODE] },
  'POST /api/v1/session/closesession': { schemes: ALL, body: false, answers: ['200', '401', '409', LIMITED, ...NODE] },
  'GET /api/v1/models': { schemes: ALL, body: false, answers: ['200', '401', LIMITED, ...NODE] },
  'GET /api/v1/models/{model}/bids': { schemes: ALL, body: false, answers: ['200', '401', '404', '409', LIMITED, ...NODE] },
};

/** Paths in `schema` (following $refs) where Swagger UI would have no example value to show. */
function missingExamples(spec: OpenApi, schema: Schema | undefined, at: string, depth = 0): string[] {
  if (!schema) return [`${at || '(root)'}: no schema`];
  if (depth > 10) return [];
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return missingExamples(spec, spec.components.schemas[name], `${at}<${name}>`, depth + 1);
  }
  if ('example' in schema) return [];
  if (schema.type === 'array') return missingExamples(spec, schema.items, `${at}[]`, depth + 1);
  const parts = schema.allOf ?? schema.oneOf ?? schema.anyOf;
  if (parts) return parts.flatMap((part) => missingExamples(spec, part, at, depth + 1));
  if (schema.properties) {
    return Object.entries(schema.properties).flatMap(([name, property]) => missingExamples(spec, property, `${at}.${name}`, depth + 1));
  }
  return [`${at || '(root)'}: no example`];
}
