/**
 * Test helpers around the development OpenID Connect issuer (dev/oidc/dev-issuer.mjs).
 *
 * oidc-provider is ESM-only and jest runs CommonJS, so the issuer always runs as a child
 * process; this module must never import oidc-provider.
 *
 * - startDevIssuer(): spawn an issuer on a free loopback port with a fresh RSA signing key (or
 *   the private keys given, see aPrivateJwk()), optionally logging its requests so tests can
 *   count JWKS fetches.
 * - testIssuer(): the issuer started by the e2e global setup, read from TEST_OIDC_* env vars.
 * - loginForTokens(): a real authorization code + PKCE flow through the dev login form.
 * - introspectToken(), discover(): small RFC 7662 / OIDC discovery clients.
 * - validClaims(), signJwt(), unsignedJwt(), hs256WithPublicKey(), tamperSignature():
 *   forged tokens for negative tests of the gateway's JWT verification.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, type KeyLike } from 'jose';
import { ROOT } from './process';

const ISSUER_SCRIPT = path.resolve(ROOT, 'dev/oidc/dev-issuer.mjs');
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_KEEP_CHARS = 64 * 1024;
const MAX_REDIRECT_HOPS = 12;

/** Registered for the gateway client by dev-issuer.mjs; nothing listens there. */
export const TEST_REDIRECT_URI = 'http://127.0.0.1/callback';
export const DEFAULT_SCOPE = 'openid email profile';

export interface DevIssuerOptions {
  /** 0 (default) = a free port. */
  port?: number;
  clientId?: string;
  /** Default: random per start. */
  clientSecret?: string;
  swaggerClientId?: string;
  audience?: string;
  gatewayUrl?: string;
  accessTokenTtlS?: number;
  /** Extra redirect URIs for the gateway client (besides TEST_REDIRECT_URI). */
  redirectUris?: string[];
  /**
   * Private JWKs (each with kid; RSA, EC or OKP) that the issuer publishes, instead of one fresh
   * RSA key. The first is `privateJwk`; the issuer itself signs RS256 with the RS256 one.
   */
  signingKeys?: JWK[];
  /** Record every request the issuer serves (see DevIssuer.requests). */
  logRequests?: boolean;
}

export interface DevIssuerInfo {
  /** http://127.0.0.1:PORT, no trailing slash. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  swaggerClientId: string;
  /** The `aud` of JWT access tokens. */
  audience: string;
  /** The `resource` parameter value that yields JWT access tokens (see resourceIndicatorFor). */
  resource: string;
  gatewayUrl: string;
  /** Redirect URI registered for the Swagger client. */
  swaggerRedirectUri: string;
  /** Private JWK set the issuer signs with. */
  jwksFile: string;
  /** The issuer's signing key (private RSA JWK with kid, alg RS256, use sig). */
  privateJwk: JWK;
}

export interface DevIssuer extends DevIssuerInfo {
  /** SIGTERM, wait for exit (SIGKILL after 5 s), delete the temporary JWKS file. */
  stop(): Promise<void>;
  /** The last 64 KiB the issuer wrote to stderr (warnings, server errors). */
  stderr(): string;
  /** With `logRequests`: every request served so far, as "METHOD /path" (no query), in order. */
  requests(): string[];
}

export interface ClientCredentials {
  issuer: string;
  clientId: string;
  /** Omit for the public (Swagger) client: no client authentication, client_id in the body. */
  clientSecret?: string;
}

export interface LoginOptions {
  username: string;
  /** Resource indicator; the audience itself is accepted too (mapped by resourceIndicatorFor). */
  resource?: string;
  /** Default DEFAULT_SCOPE. */
  scope?: string;
  /** Default TEST_REDIRECT_URI; the Swagger client needs its swaggerRedirectUri. */
  redirectUri?: string;
  /**
   * Default true. False sends `resource` only in the authorization request, as Swagger UI
   * does (it can only add parameters to the authorization URL); the granted one still applies.
   */
  repeatResourceInTokenRequest?: boolean;
  /** `consent` with scope `offline_access`: oidc-provider then issues a refresh token too. */
  prompt?: string;
}

export interface TokenSet {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  expires_in: number;
  token_type: string;
  scope?: string;
}

export interface IntrospectionResponse {
  active: boolean;
  sub?: string;
  client_id?: string;
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string | string[];
  scope?: string;
  email?: string;
  token_type?: string;
  [claim: string]: unknown;
}

export interface DiscoveryDocument {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint?: string;
  userinfo_endpoint?: string;
  [field: string]: unknown;
}

/** Subset of DevIssuerInfo needed to forge tokens. */
export type ForgeIssuer = Pick<DevIssuerInfo, 'issuer' | 'audience' | 'clientId' | 'privateJwk'>;

export interface SignJwtOptions {
  /** Default: the issuer key's kid, or no kid when `key` is given. */
  kid?: string;
  /** Default RS256. */
  alg?: string;
  /** Default: the issuer's private key. */
  key?: KeyLike | Uint8Array;
  /** Extra protected header fields (override alg/kid/typ). */
  header?: Record<string, unknown>;
  /** exp = now + expiresIn seconds (negative = already expired); default 300. */
  expiresIn?: number;
  /** nbf = now + notBefore seconds; no nbf by default. */
  notBefore?: number;
}

// ---------------------------------------------------------------------------------------------
// Resource indicator
// ---------------------------------------------------------------------------------------------

/**
 * oidc-provider only accepts absolute URIs as `resource`, and the default audience
 * `morpheus-gateway` is not one, so the issuer serves it as `urn:morpheus-gateway`.
 * Must match resourceIndicatorFor() in dev/oidc/dev-issuer.mjs.
 */
export function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:${audience}`;
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping an issuer
// ---------------------------------------------------------------------------------------------

interface SigningKey {
  privateJwk: JWK;
  jwksFile: string;
  tempDir: string;
}

/** A fresh private signing JWK with a random kid, for the issuer's key set. */
export async function aPrivateJwk(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `test-${alg}-${randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

async function writeSigningKeys(keys?: JWK[]): Promise<SigningKey> {
  const signingKeys = keys ?? [await aPrivateJwk('RS256')];
  const tempDir = mkdtempSync(path.join(tmpdir(), 'morpheus-dev-oidc-'));
  const jwksFile = path.join(tempDir, 'jwks.json');
  // 0600: it is a private key, even if a throwaway one.
  writeFileSync(jwksFile, JSON.stringify({ keys: signingKeys }), { mode: 0o600 });
  return { privateJwk: signingKeys[0], jwksFile, tempDir };
}

type IssuerSettings = Omit<DevIssuerInfo, 'issuer' | 'resource' | 'swaggerRedirectUri' | 'privateJwk' | 'jwksFile'> & {
  port: number;
  accessTokenTtlS: number;
  redirectUris: string[];
  logRequests: boolean;
};

function settingsFrom(opts: DevIssuerOptions): IssuerSettings {
  return {
    port: opts.port ?? 0,
    clientId: opts.clientId ?? 'morpheus-gateway-dev',
    clientSecret: opts.clientSecret ?? randomBytes(24).toString('base64url'),
    swaggerClientId: opts.swaggerClientId ?? 'morpheus-swagger-dev',
    audience: opts.audience ?? 'morpheus-gateway',
    gatewayUrl: (opts.gatewayUrl ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    accessTokenTtlS: opts.accessTokenTtlS ?? 600,
    redirectUris: opts.redirectUris ?? [],
    logRequests: opts.logRequests ?? false,
  };
}

function issuerEnv(settings: IssuerSettings, jwksFile: string): NodeJS.ProcessEnv {
  // Every DEV_OIDC_* variable is set explicitly so a developer's shell cannot leak into tests.
  return {
    ...process.env,
    DEV_OIDC_PORT: String(settings.port),
    DEV_OIDC_CLIENT_ID: settings.clientId,
    DEV_OIDC_CLIENT_SECRET: settings.clientSecret,
    DEV_OIDC_REDIRECT_URIS: settings.redirectUris.join(','),
    DEV_OIDC_SWAGGER_CLIENT_ID: settings.swaggerClientId,
    DEV_OIDC_GATEWAY_URL: settings.gatewayUrl,
    DEV_OIDC_AUDIENCE: settings.audience,
    DEV_OIDC_JWKS_FILE: jwksFile,
    DEV_OIDC_ACCESS_TOKEN_TTL_S: String(settings.accessTokenTtlS),
    DEV_OIDC_LOG_REQUESTS: settings.logRequests ? '1' : '0',
    // If the test runner dies without stop(), the issuer's stdin closes and it exits.
    DEV_OIDC_EXIT_WITH_PARENT: '1',
  };
}

/** Keeps the tail of a stream, for error messages. */
function collectTail(stream: NodeJS.ReadableStream, limit: number): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text = (text + chunk).slice(-limit);
  });
  return () => text;
}

const REQUEST_LINE = /^\[dev-oidc\] request (\S+ \S+)$/;

/** Every `[dev-oidc] request …` line of the issuer's stderr (DEV_OIDC_LOG_REQUESTS), whole, not a tail. */
function collectRequests(stream: NodeJS.ReadableStream): () => string[] {
  const requests: string[] = [];
  let partial = '';
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const request = REQUEST_LINE.exec(line)?.[1];
      if (request) requests.push(request);
    }
  });
  return () => [...requests];
}

function parseReadyLine(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'ready' in parsed && 'issuer' in parsed) {
      const { ready, issuer } = parsed;
      return ready === true && typeof issuer === 'string' ? issuer : undefined;
    }
    return undefined;
  } catch {
    // Not JSON: the issuer prints nothing else on stdout, so this is not the ready line.
    return undefined;
  }
}

function waitForReady(child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const failWith = (reason: string): void => {
      cleanup();
      const tail = stderr().trim();
      reject(new Error(`dev OIDC issuer (${ISSUER_SCRIPT}) ${reason}${tail ? `; its stderr:\n${tail}` : ' (no stderr output)'}`));
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const issuer = parseReadyLine(line.trim());
        if (issuer) {
          cleanup();
          resolve(issuer);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      failWith(`exited before it was ready (code ${code}, signal ${signal})`);
    const onError = (err: Error): void => failWith(`could not be spawned: ${err.message}`);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      failWith(`was not ready within ${timeoutMs} ms`);
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts dev/oidc/dev-issuer.mjs on 127.0.0.1 and resolves once it prints its ready line. */
export async function startDevIssuer(opts: DevIssuerOptions = {}): Promise<DevIssuer> {
  const settings = settingsFrom(opts);
  const key = await writeSigningKeys(opts.signingKeys);
  const child = spawn(process.execPath, [ISSUER_SCRIPT], {
    env: issuerEnv(settings, key.jwksFile),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = collectTail(child.stderr, STDERR_KEEP_CHARS);
  const requests = collectRequests(child.stderr);
  let issuer: string;
  try {
    issuer = await waitForReady(child, stderr, READY_TIMEOUT_MS);
  } catch (err) {
    await stopChild(child);
    rmSync(key.tempDir, { recursive: true, force: true });
    throw err;
  }
  return {
    issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    swaggerClientId: settings.swaggerClientId,
    audience: settings.audience,
    resource: resourceIndicatorFor(settings.audience),
    gatewayUrl: settings.gatewayUrl,
    swaggerRedirectUri: `${settings.gatewayUrl}/docs/oauth2-redirect.html`,
    jwksFile: key.jwksFile,
    privateJwk: key.privateJwk,
    stderr,
    requests,
    async stop() {
      await stopChild(child);
      rmSync(key.tempDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The issuer of the e2e run (global setup <-> test workers)
// ---------------------------------------------------------------------------------------------

/** Environment variables through which global setup hands the issuer to the test workers. */
export const TEST_OIDC_ENV_NAMES = [
  'TEST_OIDC_ISSUER',
  'TEST_OIDC_CLIENT_ID',
  'TEST_OIDC_CLIENT_SECRET',
  'TEST_OIDC_SWAGGER_CLIENT_ID',
  'TEST_OIDC_AUDIENCE',
  'TEST_OIDC_JWKS_FILE',
  'TEST_OIDC_GATEWAY_URL',
] as const;

type TestOidcEnv = Record<(typeof TEST_OIDC_ENV_NAMES)[number], string>;

export function testIssuerEnv(issuer: DevIssuerInfo): TestOidcEnv {
  return {
    TEST_OIDC_ISSUER: issuer.issuer,
    TEST_OIDC_CLIENT_ID: issuer.clientId,
    TEST_OIDC_CLIENT_SECRET: issuer.clientSecret,
    TEST_OIDC_SWAGGER_CLIENT_ID: issuer.swaggerClientId,
    TEST_OIDC_AUDIENCE: issuer.audience,
    TEST_OIDC_JWKS_FILE: issuer.jwksFile,
    TEST_OIDC_GATEWAY_URL: issuer.gatewayUrl,
  };
}

function readTestOidcEnv(): TestOidcEnv {
  const missing = TEST_OIDC_ENV_NAMES.filter((name) => !process.env[name]);
  if (missing.length) {
    throw new Error(
      `testIssuer(): ${missing.join(', ')} not set. These come from test/support/global-setup.ts; ` +
        'run the test through the jest e2e project (npx jest --selectProjects e2e ...).',
    );
  }
  return Object.fromEntries(TEST_OIDC_ENV_NAMES.map((name) => [name, process.env[name] as string])) as TestOidcEnv;
}

function readPrivateJwk(jwksFile: string): JWK {
  const parsed = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys?: JWK[] };
  const key = parsed.keys?.[0];
  if (!key) throw new Error(`testIssuer(): ${jwksFile} holds no key`);
  return key;
}

let cachedTestIssuer: DevIssuerInfo | undefined;

/** The issuer started by the e2e global setup (shared by every e2e test file). */
export function testIssuer(): DevIssuerInfo {
  if (cachedTestIssuer) return cachedTestIssuer;
  const env = readTestOidcEnv();
  cachedTestIssuer = {
    issuer: env.TEST_OIDC_ISSUER,
    clientId: env.TEST_OIDC_CLIENT_ID,
    clientSecret: env.TEST_OIDC_CLIENT_SECRET,
    swaggerClientId: env.TEST_OIDC_SWAGGER_CLIENT_ID,
    audience: env.TEST_OIDC_AUDIENCE,
    resource: resourceIndicatorFor(env.TEST_OIDC_AUDIENCE),
    gatewayUrl: env.TEST_OIDC_GATEWAY_URL,
    swaggerRedirectUri: `${env.TEST_OIDC_GATEWAY_URL}/docs/oauth2-redirect.html`,
    jwksFile: env.TEST_OIDC_JWKS_FILE,
    privateJwk: readPrivateJwk(env.TEST_OIDC_JWKS_FILE),
  };
  return cachedTestIssuer;
}

// ---------------------------------------------------------------------------------------------
// HTTP clients: discovery, authorization code flow, introspection
// ---------------------------------------------------------------------------------------------

async function readJson<T>(res: Response, what: string): Promise<T> {
  const body = await res.text();
  if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status} ${body.slice(0, 500)}`);
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new Error(`${what} returned non-JSON: ${body.slice(0, 500)}`);
  }
}

export async function discover(issuer: string): Promise<DiscoveryDocument> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  return readJson<DiscoveryDocument>(res, `OIDC discovery of ${issuer}`);
}

/** Just enough of a cookie jar for one host and one flow: paths and domains are ignored. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (CookieJar.isDeletion(value, attributes)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private static isDeletion(value: string, attributes: string[]): boolean {
    if (value === '') return true;
    return attributes.some((attribute) => {
      const [key, val = ''] = attribute.split('=').map((part) => part.trim());
      if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
      return false;
    });
  }
}

class Browser {
  constructor(private readonly jar = new CookieJar()) {}

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header();
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.jar.store(res);
    return res;
  }
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
  resource?: string;
  repeatResource: boolean;
}

function buildAuthorizationRequest(metadata: DiscoveryDocument, client: ClientCredentials, opts: LoginOptions): AuthorizationRequest {
  const codeVerifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const redirectUri = opts.redirectUri ?? TEST_REDIRECT_URI;
  const resource = opts.resource === undefined ? undefined : resourceIndicatorFor(opts.resource);
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: opts.scope ?? DEFAULT_SCOPE,
    state,
    nonce: base64url(randomBytes(16)),
    code_challenge: base64url(createHash('sha256').update(codeVerifier).digest()),
    code_challenge_method: 'S256',
    ...(resource ? { resource } : {}),
    ...(opts.prompt ? { prompt: opts.prompt } : {}),
  }).toString();
  const repeatResource = opts.repeatResourceInTokenRequest ?? true;
  return { url: url.href, state, codeVerifier, redirectUri, resource, repeatResource };
}

function isRedirect(res: Response): boolean {
  return res.status >= 300 && res.status < 400 && res.headers.has('location');
}

function isRedirectTarget(location: URL, redirectUri: string): boolean {
  const target = new URL(redirectUri);
  return location.origin === target.origin && location.pathname === target.pathname;
}

function decodeHtml(value: string): string {
  return value
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&quot;/g, '"');
}

/** The dev interaction page is a single form with a hidden `prompt` input (login or consent). */
function parseInteractionForm(html: string, pageUrl: string): { action: string; prompt: string } | undefined {
  const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
  const prompt = /name="prompt"\s+value="([^"]+)"/i.exec(html)?.[1];
  if (!action || !prompt) return undefined;
  return { action: new URL(decodeHtml(action), pageUrl).href, prompt };
}

function interactionFields(prompt: string, username: string): Record<string, string> {
  if (prompt === 'login') return { prompt, login: username, password: 'ignored-by-dev-issuer' };
  if (prompt === 'consent') return { prompt };
  throw new Error(`dev issuer asked for an unsupported interaction prompt "${prompt}"`);
}

async function submitInteraction(browser: Browser, html: string, pageUrl: string, username: string): Promise<Response> {
  const form = parseInteractionForm(html, pageUrl);
  if (!form) throw new Error(`no interaction form at ${pageUrl}: ${html.slice(0, 500)}`);
  return browser.request(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(interactionFields(form.prompt, username)).toString(),
  });
}

function codeFromCallback(location: URL, request: AuthorizationRequest, issuer: string): string {
  const params = location.searchParams;
  const error = params.get('error');
  if (error) throw new Error(`authorization failed: ${error}: ${params.get('error_description') ?? ''}`);
  if (params.get('state') !== request.state) throw new Error('authorization response state mismatch');
  // RFC 9207: the issuer echoes itself; a mismatch would mean talking to the wrong server.
  const iss = params.get('iss');
  if (iss !== null && iss !== issuer) throw new Error(`authorization response iss ${iss} is not ${issuer}`);
  const code = params.get('code');
  if (!code) throw new Error(`authorization response without code: ${location.href}`);
  return code;
}

/** Follows redirects and fills the dev login/consent forms until the redirect URI is reached. */
async function authorize(request: AuthorizationRequest, username: string, issuer: string): Promise<string> {
  const browser = new Browser();
  let url = request.url;
  let res = await browser.request(url);
  for (let hop = 0; hop < MAX_REDIRECT_HOPS; hop += 1) {
    if (isRedirect(res)) {
      const location = new URL(res.headers.get('location') as string, url);
      if (isRedirectTarget(location, request.redirectUri)) return codeFromCallback(location, request, issuer);
      url = location.href;
      res = await browser.request(url);
    } else if (res.status === 200) {
      res = await submitInteraction(browser, await res.text(), url, username);
    } else {
      throw new Error(`authorization flow: HTTP ${res.status} at ${url}: ${(await res.text()).slice(0, 500)}`);
    }
  }
  throw new Error(`authorization flow did not reach ${request.redirectUri} within ${MAX_REDIRECT_HOPS} steps`);
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

function clientAuth(client: ClientCredentials, body: URLSearchParams): Record<string, string> {
  if (client.clientSecret === undefined) {
    body.set('client_id', client.clientId);
    return {};
  }
  return { authorization: basicAuth(client.clientId, client.clientSecret) };
}

async function exchangeCode(
  metadata: DiscoveryDocument,
  client: ClientCredentials,
  request: AuthorizationRequest,
  code: string,
): Promise<TokenSet> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
    code_verifier: request.codeVerifier,
    ...(request.resource && request.repeatResource ? { resource: request.resource } : {}),
  });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...clientAuth(client, body) };
  const res = await fetch(metadata.token_endpoint, { method: 'POST', headers, body: body.toString() });
  return readJson<TokenSet>(res, 'token request');
}

/**
 * Logs `username` in at the dev issuer (authorization code flow with PKCE S256) and exchanges
 * the code. With `resource` (the issuer's resource indicator, or its audience) the access token
 * is a JWT for the audience; without, it is opaque.
 */
export async function loginForTokens(client: ClientCredentials, opts: LoginOptions): Promise<TokenSet> {
  const metadata = await discover(client.issuer);
  const request = buildAuthorizationRequest(metadata, client, opts);
  const code = await authorize(request, opts.username, client.issuer);
  return exchangeCode(metadata, client, request, code);
}

/** RFC 7662 introspection, authenticated as `client` (the gateway's confidential client). */
export async function introspectToken(client: ClientCredentials, token: string): Promise<IntrospectionResponse> {
  const metadata = await discover(client.issuer);
  if (!metadata.introspection_endpoint) throw new Error(`${client.issuer} advertises no introspection_endpoint`);
  const body = new URLSearchParams({ token });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...clientAuth(client, body) };
  const res = await fetch(metadata.introspection_endpoint, { method: 'POST', headers, body: body.toString() });
  return readJson<IntrospectionResponse>(res, 'introspection');
}

// ---------------------------------------------------------------------------------------------
// Forged tokens
// ---------------------------------------------------------------------------------------------

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The claims of a token the gateway should accept: iss, aud, sub "test-user", client_id, iat,
 * exp in 5 minutes. `overrides` win; an override set to undefined removes the claim (e.g.
 * `{ sub: undefined }` for a token without subject).
 */
export function validClaims(issuer: ForgeIssuer, overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  const merged: Record<string, unknown> = {
    iss: issuer.issuer,
    aud: issuer.audience,
    sub: 'test-user',
    client_id: issuer.clientId,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

function timingClaims(opts: SignJwtOptions): Record<string, number> {
  const now = nowSeconds();
  return {
    ...(opts.expiresIn !== undefined ? { exp: now + opts.expiresIn } : {}),
    ...(opts.notBefore !== undefined ? { nbf: now + opts.notBefore } : {}),
  };
}

async function signingKey(issuer: ForgeIssuer, opts: SignJwtOptions, alg: string): Promise<KeyLike | Uint8Array> {
  return opts.key ?? importJWK(issuer.privateJwk, alg);
}

/**
 * Signs `claims` (on top of validClaims) like the issuer would: RS256 with the issuer's key
 * and kid, typ at+jwt. Options swap the key, kid, alg or header, and set exp/nbf relative to now.
 */
export async function signJwt(issuer: ForgeIssuer, claims: Record<string, unknown> = {}, opts: SignJwtOptions = {}): Promise<string> {
  const alg = opts.alg ?? 'RS256';
  const kid = opts.kid ?? (opts.key ? undefined : issuer.privateJwk.kid);
  const payload = validClaims(issuer, { ...timingClaims(opts), ...claims });
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: 'at+jwt', ...(kid ? { kid } : {}), ...opts.header })
    .sign(await signingKey(issuer, opts, alg));
}

/** An `alg: none` token (no signature) carrying exactly `claims`. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  return new UnsecuredJWT(claims).encode();
}

/** The issuer's public key as SPKI PEM: what a confused verifier would use as an HMAC secret. */
export function issuerPublicKeyPem(issuer: Pick<DevIssuerInfo, 'privateJwk'>): string {
  const publicKey = createPublicKey({ key: issuer.privateJwk as JsonWebKey, format: 'jwk' });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Algorithm confusion: an HS256 token (with the issuer's kid) whose HMAC key is the issuer's
 * public key PEM. A verifier that lets the token pick the algorithm would accept it.
 */
export async function hs256WithPublicKey(issuer: ForgeIssuer, claims: Record<string, unknown> = {}): Promise<string> {
  return signJwt(issuer, claims, {
    alg: 'HS256',
    key: new TextEncoder().encode(issuerPublicKeyPem(issuer)),
    kid: issuer.privateJwk.kid,
  });
}

/** The same token with one bit of its signature flipped. */
export function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.');
  if (signature === undefined) throw new Error('tamperSignature: not a JWS compact token');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] ^= 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}
