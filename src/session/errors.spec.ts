import { toApiError } from '../common/api-error';
import { failureLogFields } from '../common/errors';
import { OutcomeUnknownError } from '../proxy-router/errors';
import { NoActiveSessionError, NoApiKeyError, OpenOutcomeUnknownError, SessionOpeningError, UnknownBidError } from './errors';

describe('session errors', () => {
  it.each([
    [new NoApiKeyError(), 409, 'no_api_key', 'invalid_request_error'],
    [new SessionOpeningError(), 409, 'session_opening', 'invalid_request_error'],
    [new NoActiveSessionError(), 404, 'no_session', 'invalid_request_error'],
    [new UnknownBidError(), 404, 'bid_not_found', 'invalid_request_error'],
    [new OpenOutcomeUnknownError(), 504, 'open_outcome_unknown', 'api_error'],
  ])('%p answers %i with code %s and type %s, its detail unchanged', (error, status, code, type) => {
    expect(toApiError(error)).toMatchObject({
      status,
      body: { detail: error.detail, error: { message: error.detail, type, param: null, code } },
    });
  });

  it("logs an unknown open with the node's reason and the intent, once, from its one handler", () => {
    const cause = new OutcomeUnknownError('open', 'timeout').withLogFields({ operation: 'openByModel', failure: 'timeout' });
    const error = new OpenOutcomeUnknownError(cause).withLogFields({ intent: 'i-1' });
    expect(failureLogFields(error)).toEqual({
      code: 'open_outcome_unknown',
      status: 504,
      cause: 'open_outcome_unknown',
      reason: 'timeout',
      operation: 'openByModel',
      failure: 'timeout',
      intent: 'i-1',
    });
  });
});
