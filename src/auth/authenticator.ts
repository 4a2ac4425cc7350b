import { Injectable, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import passport from 'passport';
import { authenticationFailure, AuthenticationFailedError, AuthFailureReason } from './errors';
import { Credential, CredentialKind, parseAuthorization, Principal } from './principal';
import { ApiKeyStrategy } from './strategies/api-key.strategy';
import { JwtStrategy } from './strategies/jwt.strategy';
import { OAuth2Strategy } from './strategies/oauth2.strategy';

const STRATEGY: Record<CredentialKind, string> = { 'api-key': 'api-key', jwt: 'jwt', opaque: 'oauth2' };

/** What passport reports when a strategy refuses without an error (passport-jwt's `info`). */
function reasonOf(info: unknown): AuthFailureReason {
  // Our own refusal from the JWT key lookup (e.g. the identity provider is unavailable) keeps its reason.
  if (info instanceof AuthenticationFailedError) return info.reason;
  const name = (info as { name?: unknown })?.name;
  return name === 'TokenExpiredError' ? 'expired' : 'invalid_token';
}

/**
 * Turns an `Authorization` value into a Principal through the passport strategy for its
 * shape. Strategies see a request holding that one header and nothing else, so no
 * strategy can pick a credential from the query string or the body.
 */
@Injectable()
export class Authenticator {
  /**
   * This app's own registry of strategies. Strategies also register themselves in passport's
   * global singleton, where the last app built in a process (tests run several, each with its
   * own configuration) would silently replace every other app's strategies.
   */
  private readonly passport = new passport.Passport();

  constructor(
    apiKey: ApiKeyStrategy,
    jwt: JwtStrategy,
    oauth2: OAuth2Strategy,
    // Absent where nothing is served (the CLI).
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.passport.use(STRATEGY['api-key'], apiKey);
    this.passport.use(STRATEGY.jwt, jwt);
    this.passport.use(STRATEGY.opaque, oauth2);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const credential = parseAuthorization(authorization);
    if (!credential) throw this.refused('none', authenticationFailure(authorization ? 'malformed' : 'missing'));
    try {
      return await this.run(credential);
    } catch (error) {
      throw error instanceof AuthenticationFailedError ? this.refused(credential.kind, error) : error;
    }
  }

  private refused(scheme: CredentialKind | 'none', error: AuthenticationFailedError): AuthenticationFailedError {
    this.metrics?.authFailures.inc({ scheme, reason: error.reason });
    return error;
  }

  private run(credential: Credential): Promise<Principal> {
    const request = { headers: { authorization: `Bearer ${credential.token}` }, query: {}, body: {} };
    return new Promise((resolve, reject) => {
      const callback = (error: unknown, principal: Principal | false, info: unknown) => {
        if (error instanceof AuthenticationFailedError) return reject(authenticationFailure(error.reason, error.detail));
        if (error) return reject(error instanceof Error ? error : new Error('authentication failed', { cause: error }));
        if (!principal) return reject(authenticationFailure(reasonOf(info)));
        resolve(principal);
      };
      const handler = this.passport.authenticate(STRATEGY[credential.kind], { session: false }, callback) as (
        req: unknown,
        res: unknown,
        next: (error?: unknown) => void,
      ) => void;
      handler(request, {}, reject);
    });
  }
}
