/**
 * Authentication end to end (docs/API.md §2): the three schemes against a real PostgreSQL and
 * the real dev identity provider — what is accepted, and every way a credential is refused
 * (401 with `WWW-Authenticate: Bearer` and `{"detail": "..."}`), and that no credential
 * ever reaches a log line.
 */
import { randomBytes } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import { generateKeyPair } from 'jose';
import { ApiKeyService } from '../src/auth/api-key.service';
import { Authenticated, CurrentPrincipal } from '../src/auth/decorators';
import type { Principal } from '../src/auth/principal';
import { LOCAL_ISSUER, UserService } from '../src/auth/user.service';
import { bearer, client, JsonResponse, oidcEnv, startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { aForgedApiKey } from './support/kit';
import {
  hs256WithPublicKey,
  introspectToken,
  loginForTokens,
  signJwt,
  tamperSignature,
  testIssuer,
  unsignedJwt,
  validClaims,
} from './support/oidc';

/** A route that accepts every scheme and tells who called: the positive side of the 401s. */
@Authenticated()
@Controller('probe')
class WhoAmIController {
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}

@Module({ controllers: [WhoAmIController] })
class WhoAmIModule {}

type Call = ReturnType<typeof client>;

const issuer = testIssuer();
const gatewayClient = { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret };

/** Every credential and secret this file uses: none may appear in any log line. */
const secrets = new Set<string>([issuer.clientSecret]);
function secret<T extends string>(value: T): T {
  secrets.add(value);
  // The signature part of a JWT and the secret part of a key are secrets on their own.
  const tail = value.split('.').at(-1);
  if (tail && tail.length >= 16 && tail !== value) secrets.add(tail);
  return value;
}

async function aUserToken(username: string): Promise<string> {
  const tokens = await loginForTokens(gatewayClient, { username, resource: issuer.audience });
  return secret(tokens.access_token);
}

async function anOpaqueToken(username: string): Promise<string> {
  const tokens = await loginForTokens(gatewayClient, { username });
  return secret(tokens.access_token);
}

async function anApiKey(call: Call, userToken: string): Promise<{ id: string; key: string }> {
  const res = await call('POST', '/api/v1/auth/keys', { auth: bearer(userToken), body: {} });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: secret(res.body.key as string) };
}

/** Well-formed but issued by nobody (registered as a secret the logs must not show). */
function aRandomApiKey(): string {
  return secret(aForgedApiKey());
}

async function forged(claims: Record<string, unknown> = {}, opts: Parameters<typeof signJwt>[2] = {}): Promise<string> {
  return secret(await signJwt(issuer, claims, opts));
}

/** The whole body of a 401 with this detail. */
const unauthorizedBody = (detail: string) => ({
  detail,
  error: { message: detail, type: 'authentication_error', param: null, code: 'invalid_credentials' },
});

function expectUnauthorized(res: JsonResponse): void {
  expect({ status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: res.body }).toEqual({
    status: 401,
    wwwAuthenticate: 'Bearer',
    body: {
      detail: expect.any(String),
      error: { message: (res.body as { detail: unknown }).detail, type: 'authentication_error', param: null, code: 'invalid_credentials' },
    },
  });
}

// Starting the app and real logins can pass jest's 5 s default under load (the e2e project's
// testTimeout in jest.config.js is not applied by jest 30: it is a global option).

describe('authentication (e2e)', () => {
  let db: TestDatabase;
  let gateway: TestApp;
  let call: Call;
  const apps: TestApp[] = [];

  async function startApp(env: Record<string, string | undefined>): Promise<TestApp> {
    const started = await startTestApp({ DATABASE_URL: db.url, ...env }, { extraImports: [WhoAmIModule] });
    apps.push(started);
    return started;
  }

  const me = (auth?: string, path = '/api/v1/auth/me') => call('GET', path, auth === undefined ? {} : { auth });
  const whoami = (auth: string) => call('GET', '/probe/whoami', { auth });

  beforeAll(async () => {
    db = await createTestDatabase('auth');
    gateway = await startApp(oidcEnv());
    call = client(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
  });

  describe('user tokens', () => {
    it('a JWT access token from a real login reaches /auth/me; the user is created on first use', async () => {
      const token = await aUserToken('alice');
      expect(token.split('.')).toHaveLength(3);
      expect(await db.query(`SELECT id FROM users WHERE subject = 'alice'`)).toEqual([]);

      const first = await me(bearer(token));

      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'alice@example.test',
        issuer: issuer.issuer,
        subject: 'alice',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(await db.query(`SELECT id, issuer FROM users WHERE subject = 'alice'`)).toEqual([
        { id: first.body.id, issuer: issuer.issuer },
      ]);
      const second = await me(bearer(token));
      expect(second.body).toEqual(first.body);
    });

    it('an opaque access token works through introspection, as the same user as a JWT', async () => {
      const opaque = await anOpaqueToken('bob');
      expect(opaque.split('.')).not.toHaveLength(3);

      const viaIntrospection = await me(bearer(opaque));
      const viaJwt = await me(bearer(await aUserToken('bob')));

      expect(viaIntrospection.status).toBe(200);
      expect(viaIntrospection.body).toMatchObject({ subject: 'bob', issuer: issuer.issuer, email: 'bob@example.test' });
      expect(viaJwt.body.id).toBe(viaIntrospection.body.id);
      expect(await db.query(`SELECT count(*)::int AS n FROM users WHERE subject = 'bob'`)).toEqual([{ n: 1 }]);
    });

    it('a refresh token is not an access token: 401, while the access token of the same login is 200', async () => {
      const tokens = await loginForTokens(gatewayClient, {
        username: 'rita',
        scope: `${'openid email profile'} offline_access`,
        prompt: 'consent',
      });
      const refresh = secret(tokens.refresh_token!);
      expect(refresh).toEqual(expect.any(String));
      // The attack: oidc-provider introspects a refresh token as active, with no token_type.
      const introspected = await introspectToken(gatewayClient, refresh);
      expect(introspected).toMatchObject({ active: true, sub: 'rita', client_id: issuer.clientId });
      expect(introspected.token_type).toBeUndefined();

      const refused = await me(bearer(refresh));
      expectUnauthorized(refused);
      expect(refused.body).toEqual(unauthorizedBody('Invalid or expired credentials'));
      expect((await me(bearer(secret(tokens.access_token)))).status).toBe(200);
    });

    it('an unknown opaque token is a 401', async () => {
      expectUnauthorized(await me(bearer(secret(randomBytes(24).toString('base64url')))));
    });

    it('the principal of a JWT and of an opaque token names its scheme', async () => {
      const viaJwt = await whoami(bearer(await aUserToken('carol')));
      const viaOpaque = await whoami(bearer(await anOpaqueToken('carol')));
      expect(viaJwt.body).toMatchObject({ scheme: 'jwt', userId: expect.any(String) });
      expect(viaOpaque.body).toMatchObject({ scheme: 'oauth2', userId: viaJwt.body.userId });
    });
  });

  describe('API keys', () => {
    let userToken: string;

    beforeAll(async () => {
      userToken = await aUserToken('dave');
    });

    it('are accepted as "Bearer sk-…" and as a bare "sk-…"', async () => {
      const { id, key } = await anApiKey(call, userToken);

      const withBearer = await whoami(bearer(key));
      const bare = await whoami(key);

      expect(withBearer.status).toBe(200);
      expect(withBearer.body).toMatchObject({ scheme: 'api-key', apiKeyId: id, apiKeyPrefix: key.split('.')[0] });
      expect(bare.status).toBe(200);
      expect(bare.body).toEqual(withBearer.body);
    });

    it('on /api/v1/auth/* are a 403 with a clear detail (authenticated, but not allowed there)', async () => {
      const { key } = await anApiKey(call, userToken);

      for (const res of [await me(bearer(key)), await me(key), await call('GET', '/api/v1/auth/keys', { auth: bearer(key) })]) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual({
          detail: expect.stringMatching(/API key.*user token/i),
          error: {
            message: expect.stringMatching(/API key.*user token/i),
            type: 'permission_error',
            param: null,
            code: 'user_token_required',
          },
        });
        expect(res.headers.get('www-authenticate')).toBeNull();
      }
    });

    it('a random well-formed sk- key is a 401 (not a 403), and so is a malformed one', async () => {
      expectUnauthorized(await me(bearer(aRandomApiKey())));
      expectUnauthorized(await me(aRandomApiKey()));
      expectUnauthorized(await me(bearer('sk-short')));
      expectUnauthorized(await whoami(bearer(aRandomApiKey())));
    });

    it('a revoked key is a 401 at once', async () => {
      const { id, key } = await anApiKey(call, userToken);
      expect((await whoami(bearer(key))).status).toBe(200);

      const revoke = await call('DELETE', `/api/v1/auth/keys/${id}`, { auth: bearer(userToken) });

      expect(revoke.status).toBe(200);
      expectUnauthorized(await whoami(bearer(key)));
      expectUnauthorized(await me(bearer(key)));
    });

    it('the keys and tokens of a deactivated user are a 401 at once', async () => {
      const token = await aUserToken('erin');
      const { key } = await anApiKey(call, token);
      const opaque = await anOpaqueToken('erin');
      expect((await whoami(bearer(key))).status).toBe(200);
      expect((await whoami(bearer(opaque))).status).toBe(200);

      await gateway.app.get(UserService).deactivate(issuer.issuer, 'erin');

      expectUnauthorized(await whoami(bearer(key)));
      expectUnauthorized(await me(bearer(token)));
      expectUnauthorized(await me(bearer(opaque)));
    });

    it('a key deactivated for a CLI-style local user is a 401 at once; other users are unaffected', async () => {
      const users = gateway.app.get(UserService);
      const keys = gateway.app.get(ApiKeyService);
      const local = await users.resolve(LOCAL_ISSUER, 'ci-bot');
      const { key } = await keys.create(local.id, 'ci');
      secret(key);
      const { key: bystander } = await anApiKey(call, userToken);
      expect((await whoami(bearer(key))).body).toMatchObject({ userId: local.id, scheme: 'api-key' });

      await users.deactivate(LOCAL_ISSUER, 'ci-bot');

      expectUnauthorized(await whoami(bearer(key)));
      expect((await whoami(bearer(bystander))).status).toBe(200);
    });

    it('a key (or token) in the query string or body only is a 401', async () => {
      const { key } = await anApiKey(call, userToken);
      const token = await aUserToken('dave');

      expectUnauthorized(await me(undefined, `/api/v1/auth/me?access_token=${key}`));
      expectUnauthorized(await me(undefined, `/api/v1/auth/me?api_key=${key}`));
      expectUnauthorized(await call('GET', `/probe/whoami?access_token=${key}`));
      expectUnauthorized(await call('GET', `/probe/whoami?api_key=${key}`));
      expectUnauthorized(await me(undefined, `/api/v1/auth/me?access_token=${token}`));
      expectUnauthorized(await call('POST', '/api/v1/auth/keys', { body: { access_token: token } }));
    });
  });

  describe('refused credentials', () => {
    it('no Authorization header is a 401', async () => {
      expectUnauthorized(await me());
      expectUnauthorized(await call('GET', '/api/v1/auth/keys'));
    });

    it('a header that is no bearer credential is a 401', async () => {
      expectUnauthorized(await me('Basic dXNlcjpwYXNz'));
      expectUnauthorized(await me('Bearer'));
    });

    it('a forged JWT with valid claims, signed with the issuer key, is accepted (the baseline)', async () => {
      const res = await me(bearer(await forged({ sub: 'mallory' })));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ subject: 'mallory' });
    });

    it('exp and nbf have a leeway of at most 60 s', async () => {
      expect((await me(bearer(await forged({}, { expiresIn: -20 })))).status).toBe(200);
      expect((await me(bearer(await forged({}, { notBefore: 20 })))).status).toBe(200);
    });

    it.each<[string, () => Promise<string>]>([
      ['alg none', async () => secret(unsignedJwt(validClaims(issuer)))],
      ['HS256 signed with the issuer public key', async () => secret(await hs256WithPublicKey(issuer))],
      ['expired (beyond the leeway)', () => forged({}, { expiresIn: -120 })],
      ['not yet valid (nbf beyond the leeway)', () => forged({}, { notBefore: 600 })],
      ['wrong issuer', () => forged({ iss: 'http://127.0.0.1:1' })],
      ['wrong audience', () => forged({ aud: 'someone-else' })],
      ['no sub', () => forged({ sub: undefined })],
      ['an empty sub', () => forged({ sub: '' })],
      ['bad signature (tampered)', async () => secret(tamperSignature(await forged()))],
      [
        'unknown kid (signed with another key)',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return forged({}, { key: privateKey, kid: 'unknown-kid' });
        },
      ],
      [
        'the issuer kid but another key',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return forged({}, { key: privateKey, kid: issuer.privateJwk.kid });
        },
      ],
    ])('a JWT with %s is a 401', async (_label, token) => {
      expectUnauthorized(await me(bearer(await token())));
    });

    const nowS = () => Math.floor(Date.now() / 1000);
    it.each<[string, () => Promise<string>, string]>([
      ['no exp (valid forever once leaked)', () => forged({ exp: undefined }), 'Invalid or expired credentials'],
      ['no iat', () => forged({ iat: undefined }), 'Invalid or expired credentials'],
      ['an iat older than JWT_MAX_AGE_S (86400)', () => forged({ iat: nowS() - 86_400 - 120 }), 'Token expired'],
      ['an iat in the future beyond the leeway', () => forged({ iat: nowS() + 600 }), 'Invalid or expired credentials'],
      ['a nonce (an OIDC ID token)', () => forged({ nonce: 'n-0S6_WzA2Mj' }), 'Invalid or expired credentials'],
      ["Cognito's token_use: id", () => forged({ token_use: 'id' }), 'Invalid or expired credentials'],
      ["Keycloak's typ: ID", () => forged({ typ: 'ID' }), 'Invalid or expired credentials'],
      ["Keycloak's typ: Refresh", () => forged({ typ: 'Refresh' }), 'Invalid or expired credentials'],
    ])('a JWT with %s is a 401', async (_label, token, detail) => {
      const res = await me(bearer(await token()));
      expectUnauthorized(res);
      expect(res.body).toEqual(unauthorizedBody(detail));
    });

    it('the leeway of iat is 60 s, and a day-old token just within JWT_MAX_AGE_S still works', async () => {
      expect((await me(bearer(await forged({ iat: nowS() + 20 })))).status).toBe(200);
      expect((await me(bearer(await forged({ iat: nowS() - 86_400 + 60 })))).status).toBe(200);
    });
  });

  describe('without OIDC_AUDIENCE', () => {
    let noAudience: TestApp;
    let noAudienceCall: Call;

    beforeAll(async () => {
      noAudience = await startApp({ ...oidcEnv(), OIDC_AUDIENCE: undefined });
      noAudienceCall = client(noAudience.url);
    });

    afterAll(() => noAudience?.close());

    const meThere = (token: string) => noAudienceCall('GET', '/api/v1/auth/me', { auth: bearer(token) });

    it('a token issued to our client for another resource is a 401; one for us (or without aud) is 200', async () => {
      const forOtherApi = await meThere(await forged({ aud: 'https://billing.example.com', client_id: issuer.clientId }));
      expectUnauthorized(forOtherApi);
      expect(forOtherApi.body).toEqual(unauthorizedBody('Invalid or expired credentials'));
      expectUnauthorized(await meThere(await forged({ aud: [issuer.clientId, 'https://billing.example.com'] })));
      expect((await meThere(await forged({ aud: issuer.clientId }))).status).toBe(200);
      expect((await meThere(await forged({ aud: undefined }))).status).toBe(200);
    });

    it('an ID token from a real login is a 401 (it proves a login to a client, it is no access token)', async () => {
      const tokens = await loginForTokens(gatewayClient, { username: 'ida' });
      const idToken = secret(tokens.id_token!);
      const res = await meThere(idToken);
      expectUnauthorized(res);
      // Also when it names our client as its authorized party, as some providers do.
      expectUnauthorized(await meThere(await forged({ aud: issuer.clientId, azp: issuer.clientId, nonce: 'n-1' })));
    });
  });

  describe('without OIDC_CLIENT_SECRET', () => {
    let noSecret: TestApp;

    beforeAll(async () => {
      noSecret = await startApp({ ...oidcEnv(), OIDC_CLIENT_SECRET: undefined });
    });

    afterAll(async () => {
      await noSecret?.close();
    });

    it('an opaque token is a 401, while JWTs still work', async () => {
      const noSecretCall = client(noSecret.url);
      const opaque = await anOpaqueToken('frank');
      // The same token is good on the gateway that can introspect.
      expect((await me(bearer(opaque))).status).toBe(200);

      expectUnauthorized(await noSecretCall('GET', '/api/v1/auth/me', { auth: bearer(opaque) }));
      expect((await noSecretCall('GET', '/api/v1/auth/me', { auth: bearer(await aUserToken('frank')) })).status).toBe(200);
    });
  });

  describe('without an identity provider', () => {
    let noIdp: TestApp;
    let noIdpCall: Call;

    beforeAll(async () => {
      noIdp = await startApp({});
      noIdpCall = client(noIdp.url);
    });

    afterAll(async () => {
      await noIdp?.close();
    });

    it('a JWT that the configured gateway accepts is a 401', async () => {
      const token = await aUserToken('grace');
      expect((await me(bearer(token))).status).toBe(200);

      expectUnauthorized(await noIdpCall('GET', '/api/v1/auth/me', { auth: bearer(token) }));
      expectUnauthorized(await noIdpCall('GET', '/probe/whoami', { auth: bearer(token) }));
    });

    it('an opaque token is a 401', async () => {
      expectUnauthorized(await noIdpCall('GET', '/probe/whoami', { auth: bearer(await anOpaqueToken('grace')) }));
    });

    it('API keys still work', async () => {
      const user = await noIdp.app.get(UserService).resolve(LOCAL_ISSUER, 'no-idp-user');
      const { apiKey, key } = await noIdp.app.get(ApiKeyService).create(user.id);
      secret(key);

      const res = await noIdpCall('GET', '/probe/whoami', { auth: bearer(key) });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ scheme: 'api-key', userId: user.id, apiKeyId: apiKey.id });
      expect((await noIdpCall('GET', '/api/v1/auth/me', { auth: key })).status).toBe(403);
      expectUnauthorized(await noIdpCall('GET', '/probe/whoami', { auth: bearer(aRandomApiKey()) }));
    });
  });

  // Last on purpose: every credential above has been sent by now.
  it('no log line of any app holds a key, a key hash, a token, the client secret or an Authorization value', async () => {
    const logs = apps.map((a) => a.logs()).join('\n');
    const hashes = (await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys')).map((row) => row.key_hash);
    expect(hashes.length).toBeGreaterThan(5);
    expect(hashes.filter((hash) => logs.includes(hash))).toEqual([]);
    expect(logs).toContain('GET /api/v1/auth/me 401');
    expect(logs).toContain('GET /probe/whoami 200');
    expect(secrets.size).toBeGreaterThan(30);
    const leaked = [...secrets].filter((value) => logs.includes(value));
    expect(leaked).toEqual([]);
    expect(logs).not.toMatch(/sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{16,}/);
    expect(logs).not.toMatch(/Bearer\s+\S{8,}/i);
  });
});
