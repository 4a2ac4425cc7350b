import { toApiError } from '../common/api-error';
import {
  AmbiguousModelNameError,
  ModelNotFoundError,
  NoBidsAvailableError,
  NonceRejectedError,
  OutcomeUnknownError,
  ProviderCircuitOpenError,
  ProviderNotConfiguredError,
  ProviderNotFoundError,
  ProviderTimeoutError,
  ProviderUnreachableError,
  ProviderUpstreamError,
  SessionExpiredError,
  SessionNotFoundOnChainError,
} from './errors';

describe('provider errors', () => {
  it.each([
    [new ProviderNotConfiguredError(), 503, 'provider_not_configured', 'proxy-router not configured'],
    [new ProviderUnreachableError(), 503, 'provider_unreachable', 'proxy-router unreachable'],
    [new ProviderCircuitOpenError(), 503, 'provider_circuit_open', expect.stringContaining('retry shortly')],
    [new ProviderTimeoutError(), 504, 'provider_timeout', 'proxy-router timed out'],
    [new ProviderUpstreamError(), 502, 'provider_upstream_error', 'proxy-router answered with an error'],
    [new ProviderNotFoundError('Bid not found'), 404, 'provider_not_found', 'Bid not found'],
    [new ModelNotFoundError(), 404, 'model_not_found', 'Model not found'],
    [new AmbiguousModelNameError(), 409, 'ambiguous_model_name', 'ambiguous model name: use the blockchain id'],
    [new SessionNotFoundOnChainError(), 404, 'session_not_found_on_chain', 'Session not found on chain'],
    [new SessionExpiredError(), 409, 'session_expired', 'The session has expired'],
    [new NoBidsAvailableError(), 502, 'no_bids_available', expect.any(String)],
    [new NonceRejectedError('close'), 502, 'provider_nonce_rejected', expect.stringContaining('close')],
    [
      new OutcomeUnknownError('open', 'timeout'),
      504,
      'provider_outcome_unknown',
      'The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session',
    ],
  ])('%p answers %i (%s) through the global filter', (error, status, code, detail) => {
    expect(error).toMatchObject({ status, code, detail });
    expect(toApiError(error)).toEqual({ status, body: { detail }, unexpected: status >= 500 });
  });

  it('marks only writes as of unknown outcome', () => {
    expect(new ProviderTimeoutError().outcomeUnknown).toBe(false);
    expect(new OutcomeUnknownError('close', 'connection_lost')).toMatchObject({ outcomeUnknown: true, operation: 'close' });
  });
});
