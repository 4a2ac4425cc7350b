/**
 * The issuer's key set (docs/API.md §2, BearerAuth) end to end: a real oidc-provider that
 * publishes keys for the six accepted algorithms (and an Ed25519 one), and gateways that see
 * nothing of it but its discovery document and JWKS over HTTP. The issuer logs its requests,
 * so the gateway's JWKS fetches are counted where they land.
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPair, type JWK, type KeyLike } from 'jose';
import { bearer, client, JsonResponse, startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import {
  aPrivateJwk,
  discover,
  hs256WithPublicKey,
  loginForTokens,
  signJwt,
  startDevIssuer,
  unsignedJwt,
  validClaims,
  type DevIssuer,
  type ForgeIssuer,
} from './support/oidc';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
/** The cache age of the gateways that must serve past it (OIDC_JWKS_CACHE_MAX_AGE_S). */
const SHORT_CACHE_AGE_S = 1;
const MINUTE_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("JWT verification against the issuer's whole key set (e2e)", () => {
  let idp: DevIssuer;
  let keys: Record<Algorithm | 'EdDSA', JWK>;
  let jwksPath: string;
  let db: TestDatabase;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    const generated = await Promise.all([...ALGORITHMS, 'EdDSA' as const].map(async (alg) => [alg, await aPrivateJwk(alg)] as const));
    keys = Object.fromEntries(generated) as typeof keys;
    idp = await startDevIssuer({ signingKeys: generated.map(([, jwk]) => jwk), logRequests: true });
    jwksPath = new URL((await discover(idp.issuer)).jwks_uri).pathname;
    db = await createTestDatabase('jwt_keys');
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
    await idp?.stop();
  });

  /** A gateway started now, for this issuer: its first JWT is the first after a start. */
  async function aGateway(env: Record<string, string> = {}) {
    const app = await startTestApp({
      DATABASE_URL: db.url,
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_AUDIENCE: idp.audience,
      ...env,
    });
    apps.push(app);
    const call = client(app.url);
    return { me: (token: string): Promise<JsonResponse<{ subject?: string }>> => call('GET', '/api/v1/auth/me', { auth: bearer(token) }) };
  }

  const jwksFetches = (): number => idp.requests().filter((request) => request === `GET ${jwksPath}`).length;
  /** The issuer as test/support/oidc.ts forges for it, with the key of `alg`. */
  const withKey = (alg: Algorithm | 'EdDSA'): ForgeIssuer => ({ ...idp, privateJwk: keys[alg] });
  /** A fresh token each time (jti): a token verified once is remembered by the gateway and would skip the key lookup. */
  const signedWith = (alg: Algorithm, sub = `user-${alg}`): Promise<string> => signJwt(withKey(alg), { sub, jti: randomUUID() }, { alg });

  let forger: KeyLike | undefined;
  /** Valid claims, signed by somebody else, under a `kid` the issuer never published. */
  async function aRandomKidToken(): Promise<string> {
    forger ??= (await generateKeyPair('ES256')).privateKey;
    return signJwt(idp, { sub: 'mallory' }, { alg: 'ES256', key: forger, kid: randomUUID() });
  }

  it('tokens signed with each of the six keys, in quick succession, are all accepted from one JWKS fetch', async () => {
    const gateway = await aGateway();
    const before = jwksFetches();

    const together = await Promise.all(ALGORITHMS.map(async (alg) => gateway.me(await signedWith(alg))));
    const oneByOne: JsonResponse<{ subject?: string }>[] = [];
    for (const alg of ALGORITHMS) oneByOne.push(await gateway.me(await signedWith(alg)));

    const expected = ALGORITHMS.map((alg) => ({ status: 200, subject: `user-${alg}` }));
    expect(together.map((res) => ({ status: res.status, subject: res.body.subject }))).toEqual(expected);
    expect(oneByOne.map((res) => ({ status: res.status, subject: res.body.subject }))).toEqual(expected);
    expect(jwksFetches() - before).toBe(1);
  });

  it('a token the issuer itself signed, from a real login, is accepted beside them', async () => {
    const gateway = await aGateway();
    const tokens = await loginForTokens(
      { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
      {
        username: 'erin',
        resource: idp.audience,
      },
    );

    const res = await gateway.me(tokens.access_token);

    expect({ status: res.status, subject: res.body.subject }).toEqual({ status: 200, subject: 'erin' });
  });

  it.each<[string, () => Promise<string>]>([
    ['EdDSA, with the Ed25519 key the issuer publishes', () => signJwt(withKey('EdDSA'), {}, { alg: 'EdDSA' })],
    ['HS256, keyed with the public key of the RS256 kid', () => hs256WithPublicKey(withKey('RS256'))],
    ['alg none', () => Promise.resolve(unsignedJwt(validClaims(idp)))],
    ['RS512, with the key whose JWK names RS256', () => signJwt(withKey('RS256'), { jti: randomUUID() }, { alg: 'RS512' })],
  ])('%s is refused with a 401', async (_label, token) => {
    const gateway = await aGateway();
    // The same gateway accepts the issuer's real keys: the 401 is about the algorithm.
    expect((await gateway.me(await signedWith('RS256'))).status).toBe(200);

    expect((await gateway.me(await token())).status).toBe(401);
  });

  it('forged random-kid tokens first after a start, then interleaved with valid ones past the cache age: every valid token is accepted', async () => {
    const startedAt = Date.now();
    const before = jwksFetches();
    const gateway = await aGateway({ OIDC_JWKS_CACHE_MAX_AGE_S: String(SHORT_CACHE_AGE_S) });

    const firstForged = await gateway.me(await aRandomKidToken());
    const valid: number[] = [];
    const forged: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      // Past the key set's age, each round: a refresh is due and the forged kid asks for one too.
      await sleep(SHORT_CACHE_AGE_S * 1000 + 200);
      forged.push((await gateway.me(await aRandomKidToken())).status);
      for (const alg of ALGORITHMS) {
        valid.push((await gateway.me(await signedWith(alg))).status);
        forged.push((await gateway.me(await aRandomKidToken())).status);
      }
    }

    expect(firstForged.status).toBe(401);
    expect(new Set(forged)).toEqual(new Set([401]));
    expect(valid).toEqual(Array(3 * ALGORITHMS.length).fill(200));
    expect(jwksFetches() - before).toBeLessThanOrEqual(1 + Math.floor((Date.now() - startedAt) / MINUTE_MS));
  });

  it('a flood of 1,000 random kids costs the issuer at most one JWKS fetch a minute, and valid tokens pass throughout', async () => {
    const startedAt = Date.now();
    const before = jwksFetches();
    const gateway = await aGateway();

    const statuses: number[] = [];
    const validStatuses: number[] = [];
    for (let wave = 0; wave < 20; wave += 1) {
      const forgedTokens = await Promise.all(Array.from({ length: 50 }, () => aRandomKidToken()));
      const [valid, ...forged] = await Promise.all([
        gateway.me(await signedWith(ALGORITHMS[wave % ALGORITHMS.length])),
        ...forgedTokens.map((token) => gateway.me(token)),
      ]);
      validStatuses.push(valid.status);
      statuses.push(...forged.map((res) => res.status));
    }

    expect(statuses).toHaveLength(1000);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(validStatuses).toEqual(Array(20).fill(200));
    expect(jwksFetches() - before).toBeLessThanOrEqual(1 + Math.floor((Date.now() - startedAt) / MINUTE_MS));
    expect(jwksFetches() - before).toBeGreaterThanOrEqual(1); // the key set was fetched, over HTTP, by this gateway
  });
});
