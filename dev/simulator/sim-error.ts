/** An answer the node gives as `{"error": message}` with a status (400 bad params, 500 the rest). */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}

/** A control call named a session, bid or model the simulator does not have. */
export class UnknownEntityError extends Error {
  constructor(kind: string, id: string) {
    super(`unknown ${kind} ${id}`);
    this.name = 'UnknownEntityError';
  }
}

export const badRequest = (message: string): SimError => new SimError(400, message);
export const serverError = (message: string): SimError => new SimError(500, message);

/**
 * Error texts as the node words them. The node wraps causes with `lib.WrapError`
 * ("<what failed>: <cause>") and renders contract reverts as "EVM error: <Sig> <args>",
 * so clients must match substrings, never whole messages.
 */
export const NodeErrors = {
  noBids: 'no bids available',
  sessionNotFound: 'session not found',
  sessionExpired: 'session expired',
  alreadyClosed: 'failed to send transaction: EVM error: SessionAlreadyClosed() []',
  sessionTooShort: 'failed to send transaction: EVM error: SessionTooShort() []',
  bidNotFound: 'failed to send transaction: EVM error: BidNotFound() []',
  unknownBidProvider: 'failed to initiate session: dial tcp: missing address',
  /** The provider refused the session at its initiation (its capacity policy said no). */
  noCapacity: 'failed to initiate session: no capacity',
  /** Today's budget read as zero: the stake cannot be computed. */
  zeroBudget: 'failed to get stake: todays budget is zero',
  closeUnknown: 'failed to get session report from user: session not found',
  nonceConflict: 'failed to send transaction: replacement transaction underpriced',
  unauthorized: 'unauthorized',
} as const;
