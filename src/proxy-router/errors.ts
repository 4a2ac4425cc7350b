import { DomainError } from '../common/errors';

/*
 * Failures of the proxy-router module. Each `detail` is safe for the caller: it never holds the
 * proxy-router's URL, credentials or answer body (those go to the logs, redacted).
 */

/** PROXY_ROUTER_URL is unset: nothing that needs the node can work. */
export class ProviderNotConfiguredError extends DomainError {
  readonly status = 503;
  readonly code = 'proxy_router_not_configured';

  constructor() {
    super('proxy-router not configured');
  }
}

/** No connection (refused, reset, DNS): the node is down or out of reach. */
export class ProviderUnreachableError extends DomainError {
  readonly status = 503;
  readonly code = 'proxy_router_unavailable';

  constructor() {
    super('proxy-router unreachable');
  }
}

/** Recent calls could not reach the node: this one is refused without trying. */
export class ProviderCircuitOpenError extends DomainError {
  readonly status = 503;
  readonly code = 'proxy_router_unavailable';

  constructor() {
    super('proxy-router unavailable: too many recent connection failures, retry shortly');
  }
}

/**
 * The node did not answer in time. For reads nothing changed; for writes (opens, closes)
 * `outcomeUnknown` is true and the error is an {@link OutcomeUnknownError}.
 */
export class ProviderTimeoutError extends DomainError {
  readonly status = 504;
  readonly code: string = 'upstream_timeout';
  readonly outcomeUnknown: boolean = false;

  constructor(detail = 'proxy-router timed out') {
    super(detail);
  }
}

/** The node answered with an error (or an answer we cannot read). */
export class ProviderUpstreamError extends DomainError {
  readonly status = 502;
  readonly code = 'node_error';

  constructor(detail = 'proxy-router answered with an error') {
    super(detail);
  }
}

/** The thing asked about does not exist on the marketplace. */
export class ProviderNotFoundError extends DomainError {
  readonly status = 404;
  readonly code: string = 'not_found';
}

/** The node answered an open by bid with a zero-valued (unknown or deleted) bid. */
export class BidNotFoundError extends ProviderNotFoundError {
  override readonly code = 'bid_not_found';

  constructor() {
    super('Bid not found');
  }
}

/** Name resolution found no live model. */
export class ModelNotFoundError extends ProviderNotFoundError {
  override readonly code = 'model_not_found';

  constructor() {
    super('Model not found');
  }
}

/** Several live models share the name asked for. */
export class AmbiguousModelNameError extends DomainError {
  readonly status = 409;
  readonly code = 'ambiguous_model';

  constructor() {
    super('ambiguous model name: use the blockchain id');
  }
}

/** The node knows no such session (close of an unknown id). */
export class SessionNotFoundOnChainError extends ProviderNotFoundError {
  override readonly code = 'session_not_found';

  constructor() {
    super('Session not found on chain');
  }
}

/** The node refuses the session because it is past its EndsAt. */
export class SessionExpiredError extends DomainError {
  readonly status = 409;
  readonly code = 'session_expired';

  constructor() {
    super('The session has expired');
  }
}

/**
 * An open by model found no provider to take it ("no bids available", "no provider
 * accepting session"): the providers' failure, not the node's.
 */
export class NoBidsAvailableError extends DomainError {
  readonly status = 502;
  readonly code = 'provider_error';

  constructor() {
    super('No provider accepts a session for this model right now');
  }
}

/** The on-chain writes the gateway sends (each exactly once). */
export type WriteOperation = 'open' | 'close' | 'withdraw';

/**
 * The node refused the write because of its wallet's nonce ("replacement transaction
 * underpriced", "transaction underpriced", "nonce too high", "invalid nonce"): nothing
 * was mined, so sending it again (serialised) is safe.
 */
export class NonceRejectedError extends DomainError {
  readonly status = 502;
  readonly code = 'node_error';
  readonly retrySafe = true;

  constructor(readonly operation: WriteOperation) {
    super(`proxy-router refused the ${operation}: its wallet's transaction nonce conflicted; retry shortly`);
  }
}

/** Why a write's outcome is unknown. */
export type OutcomeUnknownReason = 'timeout' | 'connection_lost' | 'nonce_ambiguous' | 'unreadable_answer';

/**
 * The write may have gone through: a timeout, a connection lost after the request was
 * sent, "nonce too low"/"already known", or a success answer we could not read. Never send it again — reconcile with the
 * node's view of the wallet's sessions instead.
 */
export class OutcomeUnknownError extends ProviderTimeoutError {
  /** `open_outcome_unknown`, `close_outcome_unknown` or `withdraw_outcome_unknown`. */
  override readonly code: string;
  override readonly outcomeUnknown = true;

  constructor(
    readonly operation: WriteOperation,
    readonly reason: OutcomeUnknownReason,
  ) {
    super(
      operation === 'withdraw'
        ? 'The outcome of the stake withdraw is not known yet; read the on-hold stake before sending another'
        : `The outcome of the ${operation} is not known yet; the gateway is reconciling it — check GET /api/v1/session`,
    );
    this.code = `${operation}_outcome_unknown`;
    this.withLogFields({ reason });
  }
}

/** True for a write that may have landed on chain: reconcile, never resend. */
export function isOutcomeUnknown(error: unknown): error is OutcomeUnknownError {
  return error instanceof OutcomeUnknownError;
}

/** True for a write the node refused for its nonce: nothing mined, safe to send again. */
export function isNonceRejected(error: unknown): error is NonceRejectedError {
  return error instanceof NonceRejectedError;
}
