import { DomainError } from '../common/errors';
import {
  BidNotFoundError,
  NoBidsAvailableError,
  NonceRejectedError,
  OutcomeUnknownError,
  ProviderUpstreamError,
  SessionExpiredError,
  SessionNotFoundOnChainError,
  type WriteOperation,
} from './errors';

/**
 * What a node error text means. The node wraps causes ("failed to send transaction: …")
 * and renders contract reverts as "EVM error: <Name>() […]", so only substrings are stable.
 */
export type NodeAnswerKind =
  'nonce_rejected' | 'nonce_ambiguous' | 'session_not_found' | 'session_expired' | 'already_closed' | 'no_bids' | 'bid_not_found' | 'other';

// Checked in order. "replacement transaction underpriced" contains "transaction
// underpriced": both mean the same (refused, nothing mined), so the order is harmless there.
const PATTERNS: ReadonlyArray<[NodeAnswerKind, readonly string[]]> = [
  // Refused before the transaction entered the mempool: sending it again is safe.
  ['nonce_rejected', ['replacement transaction underpriced', 'transaction underpriced', 'nonce too high', 'invalid nonce']],
  // The wallet's nonce moved on, or the same transaction is already pending: it may be mined.
  ['nonce_ambiguous', ['nonce too low', 'already known']],
  ['already_closed', ['sessionalreadyclosed']],
  ['session_expired', ['session expired']],
  ['session_not_found', ['session not found']],
  ['no_bids', ['no bids available', 'no provider accepting session']],
  ['bid_not_found', ['bidnotfound']],
];

export function classifyNodeMessage(message: string): NodeAnswerKind {
  const text = message.toLowerCase();
  for (const [kind, needles] of PATTERNS) {
    if (needles.some((needle) => text.includes(needle))) return kind;
  }
  return 'other';
}

/** A read's failed answer worth another try: a server-side failure with no known meaning. */
export function isRetryableAnswer(status: number, message: string): boolean {
  return status >= 500 && classifyNodeMessage(message) === 'other';
}

function credentialsRefused(status: number): boolean {
  return status === 401 || status === 403;
}

/** The typed error for a failed answer (non-2xx) of an open or a close. */
export function writeFailure(operation: WriteOperation, status: number, message: string): DomainError {
  if (credentialsRefused(status)) return new ProviderUpstreamError("proxy-router refused the gateway's credentials");
  switch (classifyNodeMessage(message)) {
    case 'nonce_rejected':
      return new NonceRejectedError(operation);
    case 'nonce_ambiguous':
      return new OutcomeUnknownError(operation, 'nonce_ambiguous');
    case 'session_not_found':
      return new SessionNotFoundOnChainError();
    case 'session_expired':
      return new SessionExpiredError();
    case 'no_bids':
      return new NoBidsAvailableError();
    case 'bid_not_found':
      return new BidNotFoundError();
    default:
      return new ProviderUpstreamError(
        operation === 'withdraw' ? 'proxy-router could not withdraw the on-hold stake' : `proxy-router could not ${operation} the session`,
      );
  }
}

/** The typed error for a failed answer of a read. */
export function readFailure(status: number): DomainError {
  if (credentialsRefused(status)) return new ProviderUpstreamError("proxy-router refused the gateway's credentials");
  return new ProviderUpstreamError();
}
