import { createPublicKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwksClient } from 'jwks-rsa';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AuthenticationFailedError } from './errors';

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

/**
 * The configured OpenID Connect issuer: discovery (fetched once, cached), its JWKS
 * (cached; an unknown `kid` refetches at most once a minute) — never fetched on the
 * event loop's critical path more than that, whatever the traffic.
 */
@Injectable()
export class OidcIssuer {
  private readonly logger = new Logger(OidcIssuer.name);
  private metadataPromise?: Promise<IssuerMetadata>;
  private failedAt = 0;
  private jwks?: JwksClient;
  /**
   * Parsed public keys by PEM: jsonwebtoken would otherwise parse the PEM (createPublicKey)
   * on every verification — measured, the largest single cost of a JWT request.
   */
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

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

  async signingKey(kid: string | undefined): Promise<KeyObject> {
    const { jwks_uri } = await this.metadata();
    this.jwks ??= new JwksClient({
      jwksUri: jwks_uri,
      cache: true,
      cacheMaxEntries: 16,
      cacheMaxAge: 10 * 60_000,
      rateLimit: true,
      jwksRequestsPerMinute: 1,
      timeout: DISCOVERY_TIMEOUT_MS,
    });
    const pem = (await this.jwks.getSigningKey(kid)).getPublicKey();
    let key = this.publicKeys.get(pem);
    if (!key) {
      if (this.publicKeys.size >= 32) this.publicKeys.clear(); // bounded: the JWKS holds a handful of keys
      key = createPublicKey(pem);
      this.publicKeys.set(pem, key);
    }
    return key;
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
