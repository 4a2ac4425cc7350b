import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AuthenticationFailedError } from './errors';
import { JwksCache, JwtAlgorithm } from './jwks-cache';

const MAX_AGE_MS = 600_000;
const REFETCH_MS = 60_000;
const RETRY_MS = 5_000;

type Jwk = Record<string, unknown>;

function aPublicJwk(alg: JwtAlgorithm | 'EdDSA', kid: string, extra: Jwk = {}): Jwk {
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig', ...extra };
}

/** A fake issuer: serves `document` (or fails), counts fetches, and a clock the test moves. */
function aCache(keys: Jwk[]) {
  const issuer = { document: { keys } as unknown, failing: false, fetches: 0, errors: [] as unknown[] };
  let now = 1_000_000;
  const cache = new JwksCache({
    fetchJwks: () => {
      issuer.fetches += 1;
      return issuer.failing ? Promise.reject(new Error('issuer down')) : Promise.resolve(issuer.document);
    },
    maxAgeMs: MAX_AGE_MS,
    refetchIntervalMs: REFETCH_MS,
    retryMs: RETRY_MS,
    onFetchError: (error) => issuer.errors.push(error),
    now: () => now,
  });
  const advance = (ms: number): void => {
    now += ms;
  };
  return { cache, issuer, advance };
}

const reasonOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'accepted',
    (error: unknown) => (error instanceof AuthenticationFailedError ? error.reason : `unexpected ${String(error)}`),
  );

/** Lets a background refresh (started without awaiting) settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const SIX: JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];

describe('JwksCache', () => {
  it('verifies with every key of the set from one fetch, each kid with its own key', async () => {
    const jwks = SIX.map((alg) => aPublicJwk(alg, `kid-${alg}`));
    const { cache, issuer } = aCache(jwks);

    const keys = await Promise.all(SIX.map((alg) => cache.key(`kid-${alg}`, alg)));

    expect(issuer.fetches).toBe(1);
    // toEqual ignores the undefined members (n/e of EC keys, crv/x/y of RSA keys).
    expect(keys.map((key: KeyObject) => key.export({ format: 'jwk' }))).toEqual(
      jwks.map(({ kty, n, e, crv, x, y }) => ({ kty, n, e, crv, x, y })),
    );
  });

  it.each(['HS256', 'none', 'EdDSA', 'ES512', 'PS512'])('refuses alg %s without fetching, even when its key is in the set', async (alg) => {
    const { cache, issuer } = aCache([aPublicJwk('RS256', 'rsa'), aPublicJwk('EdDSA', 'ed')]);

    expect(await reasonOf(cache.key('rsa', alg))).toBe('invalid_token');
    expect(await reasonOf(cache.key('ed', alg))).toBe('invalid_token');
    expect(issuer.fetches).toBe(0);
  });

  it('never verifies EdDSA, HS or encryption keys of the set', async () => {
    const { cache } = aCache([
      aPublicJwk('RS256', 'rsa'),
      { ...aPublicJwk('EdDSA', 'ed'), alg: undefined },
      { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
      aPublicJwk('RS256', 'enc', { use: 'enc' }),
      aPublicJwk('RS256', 'wrap', { use: undefined, key_ops: ['wrapKey'] }),
    ]);

    for (const kid of ['ed', 'oct', 'enc', 'wrap']) expect(await reasonOf(cache.key(kid, 'RS256'))).toBe('invalid_token');
    expect(await reasonOf(cache.key('rsa', 'RS256'))).toBe('accepted');
  });

  it('narrows a key to its JWK alg: a known kid with another alg is refused, and costs no refetch', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'rsa')]);
    await cache.key('rsa', 'RS256');
    advance(REFETCH_MS);

    expect(await reasonOf(cache.key('rsa', 'RS512'))).toBe('invalid_token');
    expect(issuer.fetches).toBe(1);
  });

  it('a key without alg verifies every algorithm of its type', async () => {
    const { cache } = aCache([{ ...aPublicJwk('RS256', 'rsa'), alg: undefined }]);

    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256']) expect(await reasonOf(cache.key('rsa', alg))).toBe('accepted');
    expect(await reasonOf(cache.key('rsa', 'ES256'))).toBe('invalid_token');
  });

  it('a token without kid is verified only when one key of the set fits its alg', async () => {
    const { cache } = aCache([aPublicJwk('RS256', 'a'), aPublicJwk('RS256', 'b'), aPublicJwk('ES256', 'c')]);

    expect(await reasonOf(cache.key(undefined, 'ES256'))).toBe('accepted');
    expect(await reasonOf(cache.key(undefined, 'RS256'))).toBe('invalid_token');
  });

  it('a forged kid first after a start spends the fetch, and every known kid still verifies', async () => {
    const { cache, issuer } = aCache(SIX.map((alg) => aPublicJwk(alg, `kid-${alg}`)));

    expect(await reasonOf(cache.key('forged', 'RS256'))).toBe('invalid_token');
    for (const alg of SIX) expect(await reasonOf(cache.key(`kid-${alg}`, alg))).toBe('accepted');
    expect(issuer.fetches).toBe(1);
  });

  it('a flood of unknown kids costs one fetch a minute, single-flight', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'known')]);

    const flood = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => reasonOf(cache.key(`forged-${i}`, 'RS256'))));
    expect(new Set(await flood(1000))).toEqual(new Set(['invalid_token']));
    expect(issuer.fetches).toBe(1);

    advance(REFETCH_MS - 1);
    await flood(1000);
    expect(issuer.fetches).toBe(1);

    advance(1);
    await flood(1000);
    expect(issuer.fetches).toBe(2);
  });

  it('an unknown kid that the issuer added is found by the next allowed refetch', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'old')]);
    await cache.key('old', 'RS256');
    issuer.document = { keys: [aPublicJwk('RS256', 'old'), aPublicJwk('ES256', 'next')] };

    expect(await reasonOf(cache.key('next', 'ES256'))).toBe('invalid_token'); // within the minute
    advance(REFETCH_MS);
    expect(await reasonOf(cache.key('next', 'ES256'))).toBe('accepted');
    expect(issuer.fetches).toBe(2);
  });

  it('past its age the set keeps serving known kids while it is refreshed in the background', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'old')]);
    await cache.key('old', 'RS256');
    issuer.document = { keys: [aPublicJwk('RS256', 'new')] };
    advance(MAX_AGE_MS);

    expect(await reasonOf(cache.key('old', 'RS256'))).toBe('accepted');
    await settle();

    // The refreshed set replaced the old one: a key the issuer removed stops verifying.
    expect(issuer.fetches).toBe(2);
    expect(await reasonOf(cache.key('new', 'RS256'))).toBe('accepted');
    expect(await reasonOf(cache.key('old', 'RS256'))).toBe('invalid_token');
  });

  it('a failed refresh or a set without usable keys never drops the last good set', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'good')]);
    await cache.key('good', 'RS256');

    issuer.failing = true;
    advance(MAX_AGE_MS);
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('accepted');
    await settle();
    advance(REFETCH_MS);
    expect(await reasonOf(cache.key('forged', 'RS256'))).toBe('invalid_token');

    issuer.failing = false;
    issuer.document = { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'good' }] };
    advance(REFETCH_MS);
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('accepted');
    await settle();
    issuer.document = { error: 'not a key set' };
    advance(REFETCH_MS);
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('accepted');
    await settle();

    expect(issuer.fetches).toBe(5);
    expect(issuer.errors).toHaveLength(4);
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('accepted');
  });

  it('with no key set yet, an unreachable issuer is idp_unavailable and is retried only after the retry delay', async () => {
    const { cache, issuer, advance } = aCache([aPublicJwk('RS256', 'good')]);
    issuer.failing = true;

    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('idp_unavailable');
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('idp_unavailable');
    expect(issuer.fetches).toBe(1);

    issuer.failing = false;
    advance(RETRY_MS);
    expect(await reasonOf(cache.key('good', 'RS256'))).toBe('accepted');
    expect(issuer.fetches).toBe(2);
  });
});
