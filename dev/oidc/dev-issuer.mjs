/**
 * DEVELOPMENT-ONLY OpenID Connect identity provider for the Morpheus Session Gateway.
 *
 * Runs oidc-provider v9 on 127.0.0.1 (never another interface). It accepts ANY login name
 * with ANY password and grants consent automatically: never expose it, never use it in
 * production. Used by `npm run test:e2e` (see test/support/oidc.ts) and for trying the
 * gateway's Swagger UI "Authorize" dialog locally:
 *
 *   node dev/oidc/dev-issuer.mjs
 *
 * Environment variables (all optional):
 *   DEV_OIDC_PORT                port on 127.0.0.1; default 4400; 0 = pick a free port.
 *                                The issuer is http://127.0.0.1:<port> (no trailing slash).
 *   DEV_OIDC_CLIENT_ID           the gateway's confidential client; default morpheus-gateway-dev
 *   DEV_OIDC_CLIENT_SECRET       its secret (client_secret_basic); default dev-gateway-secret
 *   DEV_OIDC_REDIRECT_URIS       comma-separated extra redirect URIs for that client; the fixed
 *                                test URI http://127.0.0.1/callback is always registered
 *   DEV_OIDC_SWAGGER_CLIENT_ID   the public Swagger UI client (auth method none, PKCE S256
 *                                required); default morpheus-swagger-dev
 *   DEV_OIDC_GATEWAY_URL         where the gateway runs; default http://127.0.0.1:3000. The
 *                                Swagger client's redirect URI is <url>/docs/oauth2-redirect.html
 *                                and the URL's origin is allowed for CORS (Swagger client only).
 *   DEV_OIDC_AUDIENCE            audience (`aud`) of JWT access tokens; default morpheus-gateway
 *   DEV_OIDC_JWKS_FILE           JSON file holding a PRIVATE JWK set ({"keys":[JWK with kid, ...]}:
 *                                RSA, EC or OKP keys, each may name its `alg`), all published at
 *                                the JWKS endpoint; ID tokens and JWT access tokens are signed
 *                                RS256 with its RS256 (or first alg-less RSA) key. When unset an
 *                                RSA-2048 key is generated at start and kept in memory only
 *   DEV_OIDC_ACCESS_TOKEN_TTL_S  access token lifetime in seconds; default 600
 *   DEV_OIDC_LOG_REQUESTS        "1": one stderr line per request, `[dev-oidc] request GET /jwks`
 *                                (method and path, never the query), so tests can count fetches
 *   DEV_OIDC_EXIT_WITH_PARENT    "1": exit when stdin closes, so a test runner that dies
 *                                without stopping us does not leave an orphan behind
 *
 * Access token format (RFC 8707 resource indicators, features.resourceIndicators):
 *   - The resource indicator of the gateway is RESOURCE = the audience when the audience is an
 *     absolute URI, else `urn:<audience>` (default `urn:morpheus-gateway`). oidc-provider only
 *     accepts absolute URIs as `resource` values, which `morpheus-gateway` is not; the `aud`
 *     claim is still exactly DEV_OIDC_AUDIENCE.
 *   - Authorization request WITH resource=RESOURCE: the access token is a JWT (RS256, typ
 *     at+jwt) with iss, sub, client_id, scope, iat, exp, jti, email and aud=DEV_OIDC_AUDIENCE.
 *     The token request may repeat resource=RESOURCE or omit it: useGrantedResource is true, so
 *     the resource granted at authorization is used either way. That is what lets Swagger UI
 *     (which can only add parameters to the authorization URL) obtain JWTs.
 *   - Authorization request WITHOUT resource: defaultResource resolves none, so the access
 *     token is opaque (oidc-provider's default format, usable at userinfo and introspection).
 *   - Any other resource value is refused with invalid_target.
 *   Opaque tokens of either client can be introspected by the gateway client (RFC 7662); the
 *   answer carries active, sub, client_id, exp, iat, iss, scope, token_type and email.
 *   JWT access tokens cannot be introspected (oidc-provider refuses structured tokens).
 *
 * Accounts: the dev login form takes any login name (password ignored); account id = sub =
 * login name, email = <sub>@example.test. Consent is granted automatically (both clients are
 * first-party dev clients), so a login is the only interaction.
 *
 * stdout: exactly one line when listening: {"ready":true,"issuer":"http://127.0.0.1:PORT"}
 * stderr: a development-only banner, oidc-provider warnings, server errors.
 * SIGTERM / SIGINT: stops listening and exits 0.
 */
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const HOST = '127.0.0.1';
const TEST_REDIRECT_URI = 'http://127.0.0.1/callback';
const SWAGGER_REDIRECT_PATH = '/docs/oauth2-redirect.html';
// Scopes the gateway (as a resource server) accepts; they become the JWT's `scope` claim.
const RESOURCE_SCOPES = 'openid email profile';

function fail(message) {
  process.stderr.write(`[dev-oidc] error: ${message}\n`);
  process.exit(1);
}

function nonNegativeInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) fail(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function positiveInt(name, fallback) {
  const value = nonNegativeInt(name, fallback);
  if (value === 0) fail(`${name} must be a positive integer`);
  return value;
}

function text(name, fallback) {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

function absoluteUrl(name, value) {
  const url = URL.parse(value);
  if (!url || !['http:', 'https:'].includes(url.protocol)) fail(`${name} must be an http(s) URL, got "${value}"`);
  return url;
}

/** Must match resourceIndicatorFor() in test/support/oidc.ts. */
function resourceIndicatorFor(audience) {
  return URL.canParse(audience) ? audience : `urn:${audience}`;
}

function readConfig() {
  const gatewayUrl = absoluteUrl('DEV_OIDC_GATEWAY_URL', text('DEV_OIDC_GATEWAY_URL', 'http://127.0.0.1:3000'));
  const redirectUris = text('DEV_OIDC_REDIRECT_URIS', '')
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean)
    // Validated but kept verbatim: redirect URIs are compared as exact strings, and URL.href
    // would add a trailing slash to a bare origin.
    .filter((uri) => absoluteUrl('DEV_OIDC_REDIRECT_URIS', uri));
  const audience = text('DEV_OIDC_AUDIENCE', 'morpheus-gateway');
  return {
    port: nonNegativeInt('DEV_OIDC_PORT', 4400),
    clientId: text('DEV_OIDC_CLIENT_ID', 'morpheus-gateway-dev'),
    clientSecret: text('DEV_OIDC_CLIENT_SECRET', 'dev-gateway-secret'),
    redirectUris: [...new Set([...redirectUris, TEST_REDIRECT_URI])],
    swaggerClientId: text('DEV_OIDC_SWAGGER_CLIENT_ID', 'morpheus-swagger-dev'),
    // Trailing slashes would double up in the redirect URI.
    gatewayUrl: gatewayUrl.href.replace(/\/+$/, ''),
    gatewayOrigin: gatewayUrl.origin,
    audience,
    resource: resourceIndicatorFor(audience),
    jwksFile: text('DEV_OIDC_JWKS_FILE', undefined),
    accessTokenTtl: positiveInt('DEV_OIDC_ACCESS_TOKEN_TTL_S', 600),
    logRequests: process.env.DEV_OIDC_LOG_REQUESTS === '1',
    exitWithParent: process.env.DEV_OIDC_EXIT_WITH_PARENT === '1',
  };
}

function loadJwks(file) {
  let jwks;
  try {
    jwks = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read DEV_OIDC_JWKS_FILE ${file}: ${err.message}`);
  }
  const keys = jwks?.keys;
  if (!Array.isArray(keys) || keys.length === 0) fail(`DEV_OIDC_JWKS_FILE ${file} has no "keys" array`);
  for (const key of keys) {
    if (!['RSA', 'EC', 'OKP'].includes(key.kty) || !key.d || !key.kid) {
      fail(`DEV_OIDC_JWKS_FILE ${file}: every key must be a private RSA, EC or OKP JWK with a kid`);
    }
  }
  return { keys };
}

function generateJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `dev-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
}

function buildClients(config) {
  return [
    {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: config.redirectUris,
    },
    {
      client_id: config.swaggerClientId,
      // Public client: a browser cannot keep a secret. oidc-provider then requires PKCE
      // (pkce.required defaults to true for token_endpoint_auth_method none), and only S256.
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`${config.gatewayUrl}${SWAGGER_REDIRECT_PATH}`],
    },
  ];
}

const emailOf = (accountId) => `${accountId}@example.test`;

/**
 * oidc-provider's built-in login and consent pages import a web font from the internet: strip
 * it, so the development provider's pages load from the loopback alone (the browser test
 * checks that nothing leaves it).
 */
async function withoutWebFonts(ctx, next) {
  await next();
  if (typeof ctx.body === 'string' && ctx.type === 'text/html') {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  }
}

async function findAccount(_ctx, id) {
  if (typeof id !== 'string' || id.trim() === '') return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, email: emailOf(id), email_verified: true, name: id, preferred_username: id };
    },
  };
}

/**
 * Auto-consent: both clients are first-party dev clients, so every requested OIDC scope,
 * claim and resource scope is granted without showing the consent page.
 */
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  grant.addOIDCClaims([...oidc.requestParamClaims]);
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers)) {
    grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}

function resourceIndicators(config, errors) {
  return {
    enabled: true,
    // No resource requested -> none resolved -> opaque access token (see the header).
    defaultResource: async (_ctx, _client, oneOf) => oneOf ?? undefined,
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, indicator) => {
      if (indicator !== config.resource) {
        throw new errors.InvalidTarget(`unknown resource; this issuer only serves ${config.resource}`);
      }
      return {
        scope: RESOURCE_SCOPES,
        audience: config.audience,
        accessTokenTTL: config.accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      };
    },
  };
}

/** The gateway introspects tokens of both of its clients; nobody else may introspect. */
function introspectionAllowed(config) {
  const ours = new Set([config.clientId, config.swaggerClientId]);
  return async (_ctx, caller, token) => caller.clientId === config.clientId && ours.has(token.clientId);
}

/** Swagger UI calls the token endpoint from the gateway's pages in a browser. */
function clientBasedCORS(config) {
  return (_ctx, origin, client) => client.clientId === config.swaggerClientId && origin === config.gatewayOrigin;
}

/** `email` in both JWT access tokens and introspection answers (the gateway stores it). */
async function extraTokenClaims(_ctx, token) {
  if (!token.accountId) return undefined;
  return { email: emailOf(token.accountId) };
}

function buildProviderConfig(config, jwks, errors) {
  const ttl = config.accessTokenTtl;
  return {
    clients: buildClients(config),
    jwks,
    findAccount,
    loadExistingGrant,
    extraTokenClaims,
    clientBasedCORS: clientBasedCORS(config),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // Random per start: sessions never need to survive a restart of a dev issuer.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed(config) },
      resourceIndicators: resourceIndicators(config, errors),
    },
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
  };
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

function installShutdown(server, exitWithParent) {
  let stopping = false;
  const stop = (reason) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[dev-oidc] stopping (${reason})\n`);
    server.close(() => process.exit(0));
    // Keep-alive connections from clients would otherwise hold close() open.
    server.closeAllConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (exitWithParent) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('close', () => stop('stdin closed'));
    process.stdin.resume();
  }
}

function logProviderErrors(provider) {
  // oidc-provider answers 500 without logging; the stack is what a failing test needs.
  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`[dev-oidc] server_error: ${err?.stack ?? err}\n`);
  });
}

async function main() {
  process.stderr.write('[dev-oidc] DEVELOPMENT ONLY identity provider: any login is accepted. Never expose it.\n');
  const config = readConfig();
  // Imported only now so that the banner above is the first thing on stderr.
  const { default: Provider, errors } = await import('oidc-provider');
  const jwks = config.jwksFile ? loadJwks(config.jwksFile) : generateJwks();

  // Listen first: with DEV_OIDC_PORT=0 the issuer URL is only known once the port is bound.
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => {
    // Method and path only: a query string can carry codes and tokens.
    if (config.logRequests) process.stderr.write(`[dev-oidc] request ${req.method} ${req.url?.split('?')[0]}\n`);
    handler(req, res);
  });
  const port = await listen(server, config.port);
  const issuer = `http://${HOST}:${port}`;

  const provider = new Provider(issuer, buildProviderConfig(config, jwks, errors));
  logProviderErrors(provider);
  provider.use(withoutWebFonts);
  handler = provider.callback();
  installShutdown(server, config.exitWithParent);

  process.stderr.write(
    `[dev-oidc] issuer ${issuer}; client ${config.clientId}, swagger client ${config.swaggerClientId}, ` +
      `audience ${config.audience}, resource ${config.resource}\n`,
  );
  process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
}

main().catch((err) => fail(err?.stack ?? String(err)));
