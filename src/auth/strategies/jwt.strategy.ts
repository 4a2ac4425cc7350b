import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { LRUCache } from 'lru-cache';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { AuthenticationFailedError } from '../errors';
import { JWT_ALGORITHMS } from '../jwks-cache';
import { OidcIssuer } from '../oidc-issuer';
import { Principal } from '../principal';
import { UserService } from '../user.service';

export interface AccessTokenClaims {
  sub?: unknown;
  exp?: unknown;
  iat?: unknown;
  aud?: unknown;
  email?: unknown;
  client_id?: unknown;
  azp?: unknown;
  scope?: unknown;
  /** Marks of an ID token (OIDC `nonce`, Cognito's `token_use`, Keycloak's `typ`). */
  nonce?: unknown;
  token_use?: unknown;
  typ?: unknown;
}

/**
 * How long a verified token's claims are reused without checking its signature again (never
 * past its `exp`). The user's state is still checked on every request (UserService, ≤ 5 s).
 */
const VERIFIED_TTL_MS = 60_000;
/** docs/API.md §2: the leeway of every time claim. */
const LEEWAY_S = 60;
/** Keycloak's `typ` claims of tokens that are not access tokens (its access tokens say `Bearer`). */
const NOT_ACCESS_TYPS = new Set(['ID', 'REFRESH', 'OFFLINE', 'LOGOUT']);
const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();
const digest = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** The header fields that pick the key; jsonwebtoken verifies the rest (and the alg again). */
function keyIdOf(rawJwt: string): { kid?: string; alg: string } {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString('utf8'));
  } catch {
    return { alg: 'none' }; // not a JWT header: refused like an unsigned token
  }
  const { kid, alg } = (typeof header === 'object' && header !== null ? header : {}) as { kid?: unknown; alg?: unknown };
  return { kid: typeof kid === 'string' ? kid : undefined, alg: typeof alg === 'string' ? alg : 'none' };
}

/**
 * JWTs from the identity provider, verified against its JWKS. A verified token's claims are
 * remembered by the token's SHA-256 (never the token) for at most a minute and never past its
 * expiry: the RS256 check — measured, the largest cost of a JWT request — runs once per token
 * and minute, not on every request. Refused tokens are not remembered.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new LRUCache<string, AccessTokenClaims>({ max: 10_000, ttl: VERIFIED_TTL_MS });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly issuer: OidcIssuer,
    private readonly users: UserService,
  ) {
    const issuerUrl = config.oidc.issuerUrl ?? 'urn:no-issuer-configured';
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (err: unknown, key?: string) => void) => {
        const { kid, alg } = keyIdOf(rawJwt);
        issuer.signingKey(kid, alg).then(
          // A parsed KeyObject: jsonwebtoken 9 uses it as is (the typings only name PEM strings).
          (key) => done(null, key as unknown as string),
          (error: unknown) => done(error),
        );
      },
      // Some issuers (Auth0) put a trailing slash in `iss`; both spellings are the same issuer.
      issuer: [issuerUrl, `${issuerUrl}/`],
      audience: config.oidc.audience,
      algorithms: [...JWT_ALGORITHMS],
      jsonWebTokenOptions: { clockTolerance: LEEWAY_S },
      passReqToCallback: true,
    });
  }

  /** A token verified within the last minute (and not expired) skips the signature check. */
  override authenticate(req: Parameters<Strategy['authenticate']>[0], options?: object): void {
    const token = bearerToken(req);
    const claims = token ? this.verified.get(digest(token)) : undefined;
    if (!claims || !(typeof claims.exp === 'number' && claims.exp * 1000 > Date.now())) return super.authenticate(req, options);
    this.principalOf(claims).then(
      (principal) => this.success(principal),
      (error: unknown) => this.error(error as Error),
    );
  }

  /** Called by passport-jwt once the signature, issuer, audience and times are verified. */
  async validate(req: Parameters<Strategy['authenticate']>[0], claims: AccessTokenClaims): Promise<Principal> {
    const principal = await this.principalOf(claims);
    const token = bearerToken(req);
    const ttl = typeof claims.exp === 'number' ? Math.min(VERIFIED_TTL_MS, claims.exp * 1000 - Date.now()) : 0;
    if (token && ttl > 0) this.verified.set(digest(token), claims, { ttl });
    return principal;
  }

  private async principalOf(claims: AccessTokenClaims): Promise<Principal> {
    const sub = this.checkClaims(claims);
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    const user = await this.users.resolve(this.config.oidc.issuerUrl!, sub, email);
    if (!user.isActive) throw new AuthenticationFailedError('inactive_user');
    return { userId: user.id, scheme: 'jwt', scopes: scopesOf(claims.scope) };
  }

  /** What jsonwebtoken does not check: docs/API.md §2 (BearerAuth). Answers the subject. */
  private checkClaims(claims: AccessTokenClaims): string {
    if (typeof claims.sub !== 'string' || claims.sub === '') throw new AuthenticationFailedError('invalid_token');
    // A token without expiry would authenticate forever once leaked.
    if (typeof claims.exp !== 'number') throw new AuthenticationFailedError('invalid_token');
    const nowS = Date.now() / 1000;
    if (typeof claims.iat !== 'number' || claims.iat > nowS + LEEWAY_S) throw new AuthenticationFailedError('invalid_token');
    if (nowS - claims.iat > this.config.oidc.jwtMaxAgeS + LEEWAY_S) throw new AuthenticationFailedError('expired');
    // An ID token proves a login to a client, and a refresh token gets new tokens: neither is a credential for this API.
    if (claims.nonce !== undefined || claims.token_use === 'id' || NOT_ACCESS_TYPS.has(String(claims.typ).toUpperCase())) {
      throw new AuthenticationFailedError('invalid_token');
    }
    // Without an audience to check, the token must have been issued to one of our clients, and for no other resource.
    if (!this.config.oidc.audience && (!this.isForUs(claims) || !this.audienceIsOurs(claims.aud))) {
      throw new AuthenticationFailedError('invalid_token');
    }
    return claims.sub;
  }

  private audienceIsOurs(aud: unknown): boolean {
    if (aud === undefined) return true;
    const clients = this.issuer.clientIds;
    return (Array.isArray(aud) ? aud : [aud]).every((entry) => typeof entry === 'string' && clients.includes(entry));
  }

  private isForUs(claims: AccessTokenClaims): boolean {
    const clients = this.issuer.clientIds;
    return [claims.client_id, claims.azp].some((id) => typeof id === 'string' && clients.includes(id));
  }
}

export function scopesOf(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
