import {
  NoBidsAvailableError,
  NonceRejectedError,
  OutcomeUnknownError,
  ProviderNotFoundError,
  ProviderTimeoutError,
  ProviderUpstreamError,
  SessionExpiredError,
  SessionNotFoundOnChainError,
  isNonceRejected,
  isOutcomeUnknown,
} from './errors';
import { classifyNodeMessage, isRetryableAnswer, writeFailure } from './node-errors';

describe('node error classification', () => {
  it.each([
    ['failed to send transaction: replacement transaction underpriced', 'nonce_rejected'],
    ['transaction underpriced', 'nonce_rejected'],
    ['failed to estimate gas: nonce too high', 'nonce_rejected'],
    ['Invalid Nonce', 'nonce_rejected'],
    ['failed to send transaction: nonce too low', 'nonce_ambiguous'],
    ['already known', 'nonce_ambiguous'],
    ['failed to send transaction: EVM error: SessionAlreadyClosed() []', 'already_closed'],
    ['session expired', 'session_expired'],
    ['failed to get session report from user: session not found', 'session_not_found'],
    ['no bids available', 'no_bids'],
    ['no provider accepting session: [0xabc: dial tcp: i/o timeout]', 'no_bids'],
    ['failed to send transaction: EVM error: BidNotFound() []', 'bid_not_found'],
    ['simulated failure', 'other'],
  ])('"%s" is %s', (message, kind) => {
    expect(classifyNodeMessage(message)).toBe(kind);
  });

  it('retries reads only on 5xx answers without a known meaning', () => {
    expect(isRetryableAnswer(500, 'internal error')).toBe(true);
    expect(isRetryableAnswer(503, '<html>bad gateway</html>')).toBe(true);
    expect(isRetryableAnswer(500, 'session not found')).toBe(false);
    expect(isRetryableAnswer(400, 'bad id')).toBe(false);
  });

  describe('write failures', () => {
    it('tells a nonce refusal (safe to resend, 502) from an unknown outcome (504, never resend)', () => {
      const rejected = writeFailure('open', 500, 'failed to send transaction: replacement transaction underpriced');
      expect(rejected).toBeInstanceOf(NonceRejectedError);
      expect(isNonceRejected(rejected)).toBe(true);
      expect(rejected).toMatchObject({ status: 502, code: 'node_error', retrySafe: true });

      const unknown = writeFailure('open', 500, 'nonce too low');
      expect(unknown).toBeInstanceOf(OutcomeUnknownError);
      expect(unknown).toBeInstanceOf(ProviderTimeoutError);
      expect(isOutcomeUnknown(unknown)).toBe(true);
      expect(unknown).toMatchObject({
        status: 504,
        code: 'open_outcome_unknown',
        outcomeUnknown: true,
        reason: 'nonce_ambiguous',
        detail: 'The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session',
      });
    });

    it('maps known answers to their errors and everything else to a short 502', () => {
      expect(writeFailure('close', 500, 'failed to get session report from user: session not found')).toBeInstanceOf(
        SessionNotFoundOnChainError,
      );
      expect(writeFailure('open', 500, 'session expired')).toBeInstanceOf(SessionExpiredError);
      expect(writeFailure('open', 500, 'no bids available')).toBeInstanceOf(NoBidsAvailableError);
      expect(writeFailure('open', 500, 'EVM error: BidNotFound() []')).toMatchObject({ status: 404, detail: 'Bid not found' });
      expect(writeFailure('open', 500, 'EVM error: BidNotFound() []')).toBeInstanceOf(ProviderNotFoundError);
      const other = writeFailure('open', 400, "Key: 'X.ID' Error:Field validation for 'ID' failed on the 'hex32' tag");
      expect(other).toBeInstanceOf(ProviderUpstreamError);
      expect(other).toMatchObject({ status: 502, detail: 'proxy-router could not open the session' });
    });

    it('classifies a stake withdraw like the other writes, in its own words', () => {
      expect(writeFailure('withdraw', 500, 'transaction underpriced')).toMatchObject({ operation: 'withdraw', retrySafe: true });
      expect(writeFailure('withdraw', 500, 'already known')).toMatchObject({
        status: 504,
        code: 'withdraw_outcome_unknown',
        detail: 'The outcome of the stake withdraw is not known yet; read the on-hold stake before sending another',
      });
      expect(writeFailure('withdraw', 500, 'execution reverted')).toMatchObject({
        status: 502,
        detail: 'proxy-router could not withdraw the on-hold stake',
      });
    });

    it("never puts the node's text in the detail", () => {
      const secretish = 'dial tcp 10.0.0.7:3333: connection refused';
      expect(writeFailure('open', 500, secretish).detail).not.toContain('10.0.0.7');
      expect(writeFailure('open', 401, 'unauthorized').detail).toBe("proxy-router refused the gateway's credentials");
    });
  });
});
