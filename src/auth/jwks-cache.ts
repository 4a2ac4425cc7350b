import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AuthenticationFailedError } from './errors';

/** Asymmetric algorithms only: never `none`, never HS* (a public key is no HMAC secret), no EdDSA. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const RSA_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256'];
const EC_ALGORITHMS: Readonly<Record<string, readonly JwtAlgorithm[]>> = { 'P-256': ['ES256'], 'P-384': ['ES384'] };
/** An issuer publishes a handful of keys; a larger document is cut there rather than parsed whole. */
const MAX_KEYS = 64;

export interface JwksCacheOptions {
  /** Fetches the issuer's JWKS document (parsed JSON, not yet trusted). */
  fetchJwks: () => Promise<unknown>;
  /** After this age the key set is refreshed, while it keeps serving (stale-while-revalidate). */
  maxAgeMs: number;
  /** Once a key set is held, fetches (unknown `kid` or age) start at most this often. */
  refetchIntervalMs: number;
  /** With no key set at all, a failed fetch is retried at most this often. */
  retryMs: number;
  /** Told about each failed fetch; the cache itself keeps serving the last good set. */
  onFetchError: (error: unknown) => void;
  now?: () => number;
}

interface VerificationKey {
  kid?: string;
  key: KeyObject;
  /** What this key may verify: its type's algorithms, narrowed to its JWK `alg` when it has one. */
  algorithms: readonly JwtAlgorithm[];
}

interface KeySet {
  keys: VerificationKey[];
  kids: Set<string>;
  fetchedAt: number;
}

const isAllowed = (alg: string): alg is JwtAlgorithm => (JWT_ALGORITHMS as readonly string[]).includes(alg);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function algorithmsOf(jwk: Record<string, unknown>): readonly JwtAlgorithm[] {
  const byType = jwk.kty === 'RSA' ? RSA_ALGORITHMS : jwk.kty === 'EC' ? (EC_ALGORITHMS[String(jwk.crv)] ?? []) : [];
  if (jwk.alg === undefined) return byType;
  return byType.filter((alg) => alg === jwk.alg);
}

/** Only the public members: a JWKS that (wrongly) carries private parts must not make us hold them. */
function publicPart(jwk: Record<string, unknown>): JsonWebKey | undefined {
  const members = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : ['kty', 'crv', 'x', 'y'];
  const entries = members.map((name) => [name, jwk[name]] as const);
  if (!entries.every(([, value]) => typeof value === 'string')) return undefined;
  return Object.fromEntries(entries);
}

function verificationKeyOf(jwk: unknown): VerificationKey | undefined {
  if (!isObject(jwk)) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined;
  const algorithms = algorithmsOf(jwk);
  const members = publicPart(jwk);
  if (algorithms.length === 0 || !members) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members, format: 'jwk' });
  } catch {
    return undefined; // a malformed key is skipped; the issuer's other keys still serve
  }
  return { kid: typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined, key, algorithms };
}

/** The issuer's JWKS document → the keys we can verify with. No usable key at all is a failed fetch. */
export function parseJwks(document: unknown, fetchedAt: number): KeySet {
  if (!isObject(document) || !Array.isArray(document.keys)) throw new Error('the JWKS document has no "keys" array');
  const keys = document.keys
    .slice(0, MAX_KEYS)
    .map(verificationKeyOf)
    .filter((key): key is VerificationKey => key !== undefined);
  if (keys.length === 0) throw new Error('the JWKS document holds no usable signing key');
  return { keys, kids: new Set(keys.flatMap((key) => (key.kid ? [key.kid] : []))), fetchedAt };
}

/**
 * The issuer's whole key set, fetched at once and kept (docs/API.md §2, BearerAuth): every
 * key of the set verifies from memory, with no fetch per `kid`. Fetches are single-flight and,
 * once a set is held, start at most once per `refetchIntervalMs` whatever asks for them (an
 * unknown `kid`, the set's age), so a flood of forged `kid`s costs the issuer one fetch a
 * minute. A failed, refused or rate-limited fetch never drops the last good set: known `kid`s
 * keep verifying, past the set's age too, until a successful fetch replaces the set.
 */
export class JwksCache {
  private current?: KeySet;
  private lastFetchAt = -Infinity;
  private inFlight?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The key that verifies a token with this header, or an AuthenticationFailedError. */
  async key(kid: string | undefined, alg: string): Promise<KeyObject> {
    // Refused before any fetch: a token with a foreign algorithm must not cost the issuer anything.
    if (!isAllowed(alg)) throw new AuthenticationFailedError('invalid_token');
    if (!this.current) await this.refresh();
    if (!this.current) throw new AuthenticationFailedError('idp_unavailable');
    const known = this.find(kid, alg);
    if (known) {
      if (this.now() - this.current.fetchedAt >= this.options.maxAgeMs) void this.refresh();
      return known;
    }
    // Only an unknown kid may be a key the issuer added since: a known kid with another alg is not.
    if (kid === undefined || this.current.kids.has(kid)) throw new AuthenticationFailedError('invalid_token');
    await this.refresh();
    const added = this.find(kid, alg);
    if (!added) throw new AuthenticationFailedError('invalid_token');
    return added;
  }

  private find(kid: string | undefined, alg: JwtAlgorithm): KeyObject | undefined {
    const usable = (this.current?.keys ?? []).filter((key) => key.algorithms.includes(alg));
    if (kid !== undefined) return usable.find((key) => key.kid === kid)?.key;
    // No kid: only unambiguous when one key of the set can verify this algorithm.
    return usable.length === 1 ? usable[0].key : undefined;
  }

  /** Joins the fetch in flight, starts one if the rate limit allows, else resolves at once. Never rejects. */
  private refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const interval = this.current ? this.options.refetchIntervalMs : this.options.retryMs;
    const startedAt = this.now();
    if (startedAt - this.lastFetchAt < interval) return Promise.resolve();
    this.lastFetchAt = startedAt;
    this.inFlight = this.options
      .fetchJwks()
      .then((document) => {
        this.current = parseJwks(document, startedAt);
      })
      .catch((error: unknown) => this.options.onFetchError(error))
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
