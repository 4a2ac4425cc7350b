/**
 * Proves the development OIDC issuer and its test helpers behave as the gateway's
 * authentication tests assume (docs/API.md §2): JWT access tokens with a resource, opaque
 * tokens without, introspection by the gateway client, a public Swagger client, and forged
 * tokens that a correct verifier refuses.
 */
import { createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, type JWTVerifyGetKey } from 'jose';
import {
  discover,
  hs256WithPublicKey,
  introspectToken,
  loginForTokens,
  signJwt,
  tamperSignature,
  testIssuer,
  unsignedJwt,
  validClaims,
  type DevIssuerInfo,
  type DiscoveryDocument,
} from './support/oidc';

const isJwtShaped = (token: string): boolean => token.split('.').length === 3;

/** What the gateway does with a bearer JWT, reduced to jose's checks. */
function verifyLikeGateway(issuer: DevIssuerInfo, jwks: JWTVerifyGetKey, token: string) {
  return jwtVerify(token, jwks, {
    issuer: issuer.issuer,
    audience: issuer.audience,
    algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'],
    requiredClaims: ['sub'],
    clockTolerance: 60,
  });
}

async function tokenEndpointAs(
  metadata: DiscoveryDocument,
  clientId: string,
  origin?: string,
): Promise<{ status: number; body: { error?: string; error_description?: string }; allowOrigin: string | null }> {
  const res = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: clientId,
      code: 'not-a-real-code',
      redirect_uri: 'http://127.0.0.1/callback',
      code_verifier: 'x'.repeat(43),
    }).toString(),
  });
  return {
    status: res.status,
    body: (await res.json()) as { error?: string },
    allowOrigin: res.headers.get('access-control-allow-origin'),
  };
}

describe('development OIDC issuer', () => {
  const issuer = testIssuer();
  const gatewayClient = { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret };
  let metadata: DiscoveryDocument;
  let jwks: JWTVerifyGetKey;

  beforeAll(async () => {
    metadata = await discover(issuer.issuer);
    jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  });

  it('is discoverable at its issuer URL on loopback', () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metadata.issuer).toBe(issuer.issuer);
    expect(metadata.introspection_endpoint).toBe(`${issuer.issuer}/token/introspection`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
  });

  describe('with the resource indicator', () => {
    it('issues an RS256 JWT access token for the audience that verifies against the JWKS', async () => {
      const tokens = await loginForTokens(gatewayClient, { username: 'alice', resource: issuer.audience });

      expect(tokens.token_type).toBe('Bearer');
      expect(isJwtShaped(tokens.access_token)).toBe(true);
      const { payload, protectedHeader } = await verifyLikeGateway(issuer, jwks, tokens.access_token);
      expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: issuer.privateJwk.kid, typ: 'at+jwt' });
      expect(payload).toMatchObject({
        iss: issuer.issuer,
        aud: issuer.audience,
        sub: 'alice',
        client_id: issuer.clientId,
        email: 'alice@example.test',
        scope: 'openid email profile',
      });
      expect(payload.exp! - payload.iat!).toBe(tokens.expires_in);
      expect(tokens.id_token).toBeDefined();
    });

    it('accepts the resource URI itself and keeps it when the token request omits it', async () => {
      expect(issuer.resource).toBe(`urn:${issuer.audience}`);
      const tokens = await loginForTokens(gatewayClient, {
        username: 'carol',
        resource: issuer.resource,
        repeatResourceInTokenRequest: false,
      });
      const { payload } = await verifyLikeGateway(issuer, jwks, tokens.access_token);
      expect(payload).toMatchObject({ sub: 'carol', aud: issuer.audience });
    });

    it('refuses an unknown resource with invalid_target', async () => {
      await expect(loginForTokens(gatewayClient, { username: 'alice', resource: 'https://elsewhere.example/' })).rejects.toThrow(
        /invalid_target/,
      );
    });
  });

  describe('without a resource indicator', () => {
    it('issues an opaque token that the gateway client introspects as active', async () => {
      const tokens = await loginForTokens(gatewayClient, { username: 'alice' });

      expect(isJwtShaped(tokens.access_token)).toBe(false);
      const info = await introspectToken(gatewayClient, tokens.access_token);
      expect(info).toMatchObject({
        active: true,
        sub: 'alice',
        client_id: issuer.clientId,
        iss: issuer.issuer,
        email: 'alice@example.test',
      });
      expect(info.exp).toBeGreaterThan(Date.now() / 1000);
    });

    it('reports an unknown token as inactive', async () => {
      await expect(introspectToken(gatewayClient, 'no-such-token')).resolves.toEqual({ active: false });
    });
  });

  describe('the Swagger UI client', () => {
    const swaggerClient = () => ({ issuer: issuer.issuer, clientId: issuer.swaggerClientId });

    it('is public: it logs in without a secret, and the gateway client introspects its tokens', async () => {
      const tokens = await loginForTokens(swaggerClient(), { username: 'bob', redirectUri: issuer.swaggerRedirectUri });
      const info = await introspectToken(gatewayClient, tokens.access_token);
      expect(info).toMatchObject({ active: true, sub: 'bob', client_id: issuer.swaggerClientId });
    });

    it('gets JWT access tokens for the audience too', async () => {
      const tokens = await loginForTokens(swaggerClient(), {
        username: 'bob',
        resource: issuer.audience,
        redirectUri: issuer.swaggerRedirectUri,
        repeatResourceInTokenRequest: false,
      });
      const { payload } = await verifyLikeGateway(issuer, jwks, tokens.access_token);
      expect(payload).toMatchObject({ sub: 'bob', client_id: issuer.swaggerClientId });
    });

    it('authenticates at the token endpoint with method none, unlike the confidential client', async () => {
      // A bogus code gets past client authentication (invalid_grant) only for a public client.
      expect((await tokenEndpointAs(metadata, issuer.swaggerClientId)).body.error).toBe('invalid_grant');
      expect((await tokenEndpointAs(metadata, issuer.clientId)).body.error).toBe('invalid_client');
    });

    it('may call the token endpoint from the gateway origin (CORS) and from no other', async () => {
      const gatewayOrigin = new URL(issuer.gatewayUrl).origin;
      const allowed = await tokenEndpointAs(metadata, issuer.swaggerClientId, gatewayOrigin);
      expect(allowed.allowOrigin).toBe(gatewayOrigin);
      expect(allowed.body.error).toBe('invalid_grant');

      const refused = await tokenEndpointAs(metadata, issuer.swaggerClientId, 'http://evil.example');
      expect(refused.allowOrigin).toBeNull();
      expect(refused.body.error).toBe('invalid_request');
    });

    it('cannot introspect tokens itself', async () => {
      const tokens = await loginForTokens(gatewayClient, { username: 'alice' });
      await expect(introspectToken(swaggerClient(), tokens.access_token)).resolves.toEqual({ active: false });
    });
  });

  describe('forged tokens', () => {
    it('a forged token with the default claims verifies (the baseline for negative tests)', async () => {
      const { payload } = await verifyLikeGateway(issuer, jwks, await signJwt(issuer, { sub: 'mallory' }));
      expect(payload).toMatchObject({ sub: 'mallory', client_id: issuer.clientId });
    });

    it('an expired token fails', async () => {
      const token = await signJwt(issuer, {}, { expiresIn: -120 });
      await expect(verifyLikeGateway(issuer, jwks, token)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    });

    it('a token with an unknown kid, signed with another key, fails', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const token = await signJwt(issuer, {}, { key: privateKey, kid: 'unknown-kid' });
      expect(decodeProtectedHeader(token).kid).toBe('unknown-kid');
      await expect(verifyLikeGateway(issuer, jwks, token)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    });

    it.each([
      ['nbf in the future', { nbf: Math.floor(Date.now() / 1000) + 3600 }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['wrong iss', { iss: 'http://127.0.0.1:1' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['wrong aud', { aud: 'someone-else' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
      ['no sub', { sub: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ])('a token with %s fails', async (_label, claims, code) => {
      const token = await signJwt(issuer, claims);
      await expect(verifyLikeGateway(issuer, jwks, token)).rejects.toMatchObject({ code });
    });

    it('a tampered signature fails', async () => {
      const token = tamperSignature(await signJwt(issuer));
      await expect(verifyLikeGateway(issuer, jwks, token)).rejects.toMatchObject({
        code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      });
    });

    it('alg none and HS256-with-the-public-key tokens fail', async () => {
      const none = unsignedJwt(validClaims(issuer));
      expect(decodeProtectedHeader(none).alg).toBe('none');
      await expect(verifyLikeGateway(issuer, jwks, none)).rejects.toThrow();

      const confused = await hs256WithPublicKey(issuer);
      expect(decodeProtectedHeader(confused)).toMatchObject({ alg: 'HS256', kid: issuer.privateJwk.kid });
      await expect(verifyLikeGateway(issuer, jwks, confused)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    });
  });
});
