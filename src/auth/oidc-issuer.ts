import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AuthenticationFailedError } from './errors';
import { JwksCache } from './jwks-cache';

/** The parts of the issuer's discovery document the gateway uses. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  introspection_endpoint?: string;
}

const DISCOVERY_TIMEOUT_MS = 5_000;
/** After a failed discovery, callers get a fast 401 instead of each retrying the IdP. */
const DISCOVERY_RETRY_MS = 5_000;
/** docs/API.md §2 (BearerAuth): an unknown `kid` refetches the JWKS at most once a minute. */
const JWKS_REFETCH_INTERVAL_MS = 60_000;

/**
 * The configured OpenID Connect issuer: discovery (fetched once, cached) and its key set
 * (JwksCache: the whole JWKS cached, refetched at most once a minute) — never fetched more
 * than that, whatever the traffic.
 */
@Injectable()
export class OidcIssuer {
  private readonly logger = new Logger(OidcIssuer.name);
  private metadataPromise?: Promise<IssuerMetadata>;
  private failedAt = 0;
  /** Parsed KeyObjects: jsonwebtoken would otherwise parse a PEM on every verification (measured, the largest cost). */
  private readonly jwks: JwksCache;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.jwks = new JwksCache({
      fetchJwks: () => this.fetchJwks(),
      maxAgeMs: config.oidc.jwksCacheMaxAgeS * 1000,
      refetchIntervalMs: JWKS_REFETCH_INTERVAL_MS,
      retryMs: DISCOVERY_RETRY_MS,
      onFetchError: (error) => {
        // A failed discovery was logged by metadata() already.
        if (error instanceof AuthenticationFailedError) return;
        this.logger.warn({ err: error }, 'JWKS fetch failed; the last good key set keeps serving');
      },
    });
  }

  get configured(): boolean {
    return this.config.oidc.issuerUrl !== undefined;
  }

  /** Our own clients: tokens issued to anyone else are not for us. */
  get clientIds(): string[] {
    const { clientId, swaggerClientId } = this.config.oidc;
    return [clientId, swaggerClientId].filter((id): id is string => Boolean(id));
  }

  metadata(): Promise<IssuerMetadata> {
    if (!this.configured) return Promise.reject(new AuthenticationFailedError('not_configured'));
    if (this.failedAt && Date.now() - this.failedAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(new AuthenticationFailedError('idp_unavailable'));
    }
    this.metadataPromise ??= this.discover().catch((error: unknown) => {
      this.metadataPromise = undefined;
      this.failedAt = Date.now();
      this.logger.warn({ err: error }, 'OIDC discovery failed');
      throw new AuthenticationFailedError('idp_unavailable');
    });
    return this.metadataPromise;
  }

  /** The issuer's key that verifies a token with this `kid` and `alg` (AuthenticationFailedError if none). */
  signingKey(kid: string | undefined, alg: string): Promise<KeyObject> {
    if (!this.configured) return Promise.reject(new AuthenticationFailedError('not_configured'));
    return this.jwks.key(kid, alg);
  }

  private async fetchJwks(): Promise<unknown> {
    const { jwks_uri } = await this.metadata();
    const response = await fetch(jwks_uri, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
    return response.json();
  }

  private async discover(): Promise<IssuerMetadata> {
    const issuer = this.config.oidc.issuerUrl!;
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const body = (await response.json()) as Partial<IssuerMetadata>;
    if (typeof body.issuer !== 'string' || typeof body.jwks_uri !== 'string') {
      throw new Error('discovery document lacks issuer or jwks_uri');
    }
    // The `iss` of every token is compared with the discovered issuer, exactly (OIDC Discovery §4.3).
    if (body.issuer.replace(/\/+$/, '') !== issuer) throw new Error(`discovery issuer mismatch: ${body.issuer}`);
    return body as IssuerMetadata;
  }
}
