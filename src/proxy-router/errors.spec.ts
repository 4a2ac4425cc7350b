import { toApiError } from '../common/api-error';
import { failureLogFields } from '../common/errors';
import {
  AmbiguousModelNameError,
  BidNotFoundError,
  ModelNotFoundError,
  NoBidsAvailableError,
  NonceRejectedError,
  OutcomeUnknownError,
  ProviderCircuitOpenError,
  ProviderNotConfiguredError,
  ProviderTimeoutError,
  ProviderUnreachableError,
  ProviderUpstreamError,
  SessionExpiredError,
  SessionNotFoundOnChainError,
} from './errors';

describe('proxy-router errors', () => {
  it.each([
    [new ProviderNotConfiguredError(), 503, 'proxy_router_not_configured', 'proxy-router not configured'],
    [new ProviderUnreachableError(), 503, 'proxy_router_unavailable', 'proxy-router unreachable'],
    [new ProviderCircuitOpenError(), 503, 'proxy_router_unavailable', expect.stringContaining('retry shortly')],
    [new ProviderTimeoutError(), 504, 'upstream_timeout', 'proxy-router timed out'],
    [new ProviderUpstreamError(), 502, 'node_error', 'proxy-router answered with an error'],
    [new BidNotFoundError(), 404, 'bid_not_found', 'Bid not found'],
    [new ModelNotFoundError(), 404, 'model_not_found', 'Model not found'],
    [new AmbiguousModelNameError(), 409, 'ambiguous_model', 'ambiguous model name: use the blockchain id'],
    [new SessionNotFoundOnChainError(), 404, 'session_not_found', 'Session not found on chain'],
    [new SessionExpiredError(), 409, 'session_expired', 'The session has expired'],
    [new NoBidsAvailableError(), 502, 'provider_error', 'No provider accepts a session for this model right now'],
    [new NonceRejectedError('close'), 502, 'node_error', expect.stringContaining('close')],
    [
      new OutcomeUnknownError('open', 'timeout'),
      504,
      'open_outcome_unknown',
      'The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session',
    ],
    [
      new OutcomeUnknownError('close', 'connection_lost'),
      504,
      'close_outcome_unknown',
      'The outcome of the close is not known yet; the gateway is reconciling it — check GET /api/v1/session',
    ],
  ])('%p answers %i (%s) through the global filter', (error, status, code, detail) => {
    expect(error).toMatchObject({ status, code, detail });
    expect(toApiError(error)).toEqual({
      status,
      code,
      body: { detail, error: { message: detail, type: status >= 500 ? 'api_error' : 'invalid_request_error', param: null, code } },
      unexpected: false,
    });
  });

  it('marks only writes as of unknown outcome', () => {
    expect(new ProviderTimeoutError().outcomeUnknown).toBe(false);
    expect(new OutcomeUnknownError('close', 'connection_lost')).toMatchObject({ outcomeUnknown: true, operation: 'close' });
  });

  it("carries the upstream facts for the handler's log line, never in the answer", () => {
    const error = new ProviderUpstreamError().withLogFields({ operation: 'models', upstreamStatus: 500 });
    expect(failureLogFields(error)).toEqual({ code: 'node_error', status: 502, operation: 'models', upstreamStatus: 500 });
    expect(JSON.stringify(toApiError(error).body)).not.toContain('models');
  });
});
