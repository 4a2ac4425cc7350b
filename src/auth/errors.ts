import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthorizedError } from '../common/errors';

/** Why a credential was refused: for logs and metrics only; the caller gets a generic detail. */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'unknown_key'
  | 'revoked'
  | 'inactive_user'
  | 'expired'
  | 'invalid_token'
  | 'inactive_token'
  | 'not_configured'
  | 'idp_unavailable';

export class AuthenticationFailedError extends UnauthorizedError {
  override readonly code = 'invalid_credentials';

  constructor(
    readonly reason: AuthFailureReason,
    detail = 'Invalid or expired credentials',
  ) {
    super(detail);
  }
}

const DETAIL: Partial<Record<AuthFailureReason, string>> = {
  missing: 'Not authenticated',
  expired: 'Token expired',
  not_configured: 'This kind of token is not accepted: no identity provider is configured for it',
  idp_unavailable: 'Could not verify the token: the identity provider is unavailable',
};

/** The refusal the caller sees for `reason`: a few reasons have their own detail, the rest a generic one. */
export function authenticationFailure(reason: AuthFailureReason, fallback = 'Invalid or expired credentials'): AuthenticationFailedError {
  return new AuthenticationFailedError(reason, DETAIL[reason] ?? fallback);
}

export class UserTokenRequiredError extends ForbiddenError {
  override readonly code = 'user_token_required';

  constructor() {
    super('API keys cannot manage keys: use an OAuth2 or JWT user token for /api/v1/auth/*');
  }
}

export class ApiKeyNotFoundError extends NotFoundError {
  override readonly code = 'key_not_found';

  constructor() {
    super('API key not found');
  }
}

export class ApiKeyLimitError extends ConflictError {
  override readonly code = 'too_many_keys';

  constructor(max: number) {
    super(`At most ${max} active API keys per user: revoke one first`);
  }
}

export class ApiKeyRevokedError extends ConflictError {
  override readonly code = 'key_revoked';

  constructor() {
    super('A revoked API key cannot be the default');
  }
}

/** docs/API.md §2: too many token introspections in flight on this instance. */
export class IntrospectionBusyError extends DomainError {
  readonly status = 503;
  readonly code = 'identity_provider_busy';

  constructor(readonly retryAfterS: number) {
    super(`Too many token checks in progress: try again in ${retryAfterS} s`);
  }
}
