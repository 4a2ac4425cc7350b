import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { LRUCache } from 'lru-cache';
import { Strategy } from 'passport-http-bearer';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { BoundedConcurrency, QueueFullError } from '../bounded-concurrency';
import { AuthenticationFailedError, IntrospectionBusyError } from '../errors';
import { OidcIssuer } from '../oidc-issuer';
import { Principal } from '../principal';
import { UserService } from '../user.service';
import { scopesOf } from './jwt.strategy';

interface Introspection {
  active?: unknown;
  sub?: unknown;
  client_id?: unknown;
  aud?: unknown;
  exp?: unknown;
  token_type?: unknown;
  email?: unknown;
  scope?: unknown;
}

type Verdict = { ok: true; sub: string; email?: string; scopes: string[] } | { ok: false };

const MAX_POSITIVE_TTL_MS = 5 * 60_000;
const NEGATIVE_TTL_MS = 30_000;
const INTROSPECTION_TIMEOUT_MS = 5_000;
/** docs/API.md §2: only access tokens authenticate; a refresh token is introspected as active too. */
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'dpop', 'access_token']);
/**
 * docs/API.md §2: unauthenticated callers choose the tokens, so each instance sends the identity
 * provider at most this many introspections at once, queues a bounded number, and answers 503
 * beyond that instead of amplifying a flood of made-up tokens.
 */
export const MAX_INTROSPECTIONS_IN_FLIGHT = 32;
export const MAX_INTROSPECTIONS_QUEUED = 128;
const BUSY_RETRY_AFTER_S = 1;

/**
 * Opaque OAuth2 access tokens, checked by RFC 7662 introspection with the gateway's
 * confidential client. Results are cached by the token's hash (never the token itself):
 * accepted ones until expiry (at most 5 minutes), refusals briefly.
 */
@Injectable()
export class OAuth2Strategy extends PassportStrategy(Strategy, 'oauth2') {
  private readonly logger = new Logger(OAuth2Strategy.name);
  private readonly verdicts = new LRUCache<string, Verdict>({ max: 20_000, ttl: NEGATIVE_TTL_MS });
  /** One introspection per token at a time: concurrent requests with one token share it. */
  private readonly pending = new Map<string, Promise<Verdict>>();
  private readonly introspections = new BoundedConcurrency(MAX_INTROSPECTIONS_IN_FLIGHT, MAX_INTROSPECTIONS_QUEUED);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly issuer: OidcIssuer,
    private readonly users: UserService,
  ) {
    super();
  }

  async validate(token: string): Promise<Principal> {
    const verdict = await this.verdictFor(token);
    if (!verdict.ok) throw new AuthenticationFailedError('inactive_token');
    const user = await this.users.resolve(this.config.oidc.issuerUrl!, verdict.sub, verdict.email);
    if (!user.isActive) throw new AuthenticationFailedError('inactive_user');
    return { userId: user.id, scheme: 'oauth2', scopes: verdict.scopes };
  }

  private async verdictFor(token: string): Promise<Verdict> {
    const { clientId, clientSecret } = this.config.oidc;
    if (!this.issuer.configured || !clientId || !clientSecret) throw new AuthenticationFailedError('not_configured');
    const cacheKey = createHash('sha256').update(token).digest('base64url');
    const cached = this.verdicts.get(cacheKey);
    if (cached) return cached;
    let pending = this.pending.get(cacheKey);
    if (!pending) {
      pending = this.introspectBounded(token, clientId, clientSecret, cacheKey).finally(() => this.pending.delete(cacheKey));
      this.pending.set(cacheKey, pending);
    }
    return pending;
  }

  private async introspectBounded(token: string, clientId: string, clientSecret: string, cacheKey: string): Promise<Verdict> {
    let result: Introspection;
    try {
      result = await this.introspections.run(() => this.introspect(token, clientId, clientSecret));
    } catch (error) {
      if (error instanceof QueueFullError) throw new IntrospectionBusyError(BUSY_RETRY_AFTER_S);
      throw error;
    }
    const verdict = this.judge(result);
    const ttl = verdict.ok ? Math.min(MAX_POSITIVE_TTL_MS, Number(result.exp) * 1000 - Date.now()) : NEGATIVE_TTL_MS;
    if (ttl > 0) this.verdicts.set(cacheKey, verdict, { ttl });
    return verdict;
  }

  private judge(result: Introspection): Verdict {
    if (result.active !== true || typeof result.sub !== 'string' || typeof result.exp !== 'number') return { ok: false };
    if (result.exp * 1000 <= Date.now()) return { ok: false };
    if (!this.isAccessTokenType(result.token_type)) return { ok: false };
    if (typeof result.client_id !== 'string' || !this.issuer.clientIds.includes(result.client_id)) return { ok: false };
    const { audience } = this.config.oidc;
    if (audience && result.aud !== undefined) {
      const audiences = Array.isArray(result.aud) ? result.aud : [result.aud];
      if (!audiences.includes(audience)) return { ok: false };
    }
    const email = typeof result.email === 'string' ? result.email : undefined;
    return { ok: true, sub: result.sub, email, scopes: scopesOf(result.scope) };
  }

  /** oidc-provider, like several providers, omits `token_type` exactly for refresh tokens. */
  private isAccessTokenType(type: unknown): boolean {
    if (type === undefined) return !this.config.oidc.introspectionRequireTokenType;
    return typeof type === 'string' && ACCESS_TOKEN_TYPES.has(type.toLowerCase());
  }

  private async introspect(token: string, clientId: string, clientSecret: string): Promise<Introspection> {
    const { introspection_endpoint } = await this.issuer.metadata();
    if (!introspection_endpoint) throw new AuthenticationFailedError('not_configured');
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    try {
      const response = await fetch(introspection_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`introspection answered ${response.status}`);
      return (await response.json()) as Introspection;
    } catch (error) {
      this.logger.warn({ err: error }, 'token introspection failed');
      throw new AuthenticationFailedError('idp_unavailable');
    }
  }
}
