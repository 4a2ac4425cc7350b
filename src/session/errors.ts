import { ConflictError, DomainError, NotFoundError } from '../common/errors';

export class NoApiKeyError extends ConflictError {
  override readonly code = 'no_api_key';

  constructor() {
    super('Create an API key first: POST /api/v1/auth/keys');
  }
}

export class SessionOpeningError extends ConflictError {
  override readonly code = 'session_opening';

  constructor() {
    super('A session is being opened for this API key: try again once it is recorded (GET /api/v1/session)');
  }
}

export class NoActiveSessionError extends NotFoundError {
  override readonly code = 'no_session';

  constructor() {
    super('No active session');
  }
}

export class UnknownBidError extends NotFoundError {
  override readonly code = 'bid_not_found';

  constructor() {
    super('Bid not found');
  }
}

/** Rule 6: the open may or may not have happened; the reconciler will find out. */
export class OpenOutcomeUnknownError extends DomainError {
  readonly status = 504;
  readonly code = 'open_outcome_unknown';

  constructor(cause?: unknown) {
    super('The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session', { cause });
  }
}
