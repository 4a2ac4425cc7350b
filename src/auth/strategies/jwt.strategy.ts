import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { AuthenticationFailedError } from '../errors';
import { OidcIssuer } from '../oidc-issuer';
import { Principal } from '../principal';
import { UserService } from '../user.service';

/** Asymmetric algorithms only: never `none`, never HS* (a public key is no HMAC secret). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;

export interface AccessTokenClaims {
  sub?: unknown;
  email?: unknown;
  client_id?: unknown;
  azp?: unknown;
  scope?: unknown;
}

function kidOf(rawJwt: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined; // not a JWT header: signature verification fails below with a 401
  }
}

/** JWTs from the identity provider, verified against its JWKS. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly issuer: OidcIssuer,
    private readonly users: UserService,
  ) {
    const issuerUrl = config.oidc.issuerUrl ?? 'urn:no-issuer-configured';
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (err: unknown, key?: string) => void) => {
        issuer.signingKey(kidOf(rawJwt)).then(
          (key) => done(null, key),
          (error: unknown) => done(error),
        );
      },
      // Some issuers (Auth0) put a trailing slash in `iss`; both spellings are the same issuer.
      issuer: [issuerUrl, `${issuerUrl}/`],
      audience: config.oidc.audience,
      algorithms: [...JWT_ALGORITHMS],
      jsonWebTokenOptions: { clockTolerance: 60 },
    });
  }

  async validate(claims: AccessTokenClaims): Promise<Principal> {
    if (typeof claims.sub !== 'string' || claims.sub === '') throw new AuthenticationFailedError('invalid_token');
    // Without an audience to check, the token must at least have been issued to one of our clients.
    if (!this.config.oidc.audience && !this.isForUs(claims)) throw new AuthenticationFailedError('invalid_token');
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    const user = await this.users.resolve(this.config.oidc.issuerUrl!, claims.sub, email);
    if (!user.isActive) throw new AuthenticationFailedError('inactive_user');
    return { userId: user.id, scheme: 'jwt', scopes: scopesOf(claims.scope) };
  }

  private isForUs(claims: AccessTokenClaims): boolean {
    const clients = this.issuer.clientIds;
    return [claims.client_id, claims.azp].some((id) => typeof id === 'string' && clients.includes(id));
  }
}

export function scopesOf(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
