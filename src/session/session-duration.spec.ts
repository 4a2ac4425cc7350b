import { RequestValidationError } from '../common/errors';
import { loadConfig } from '../config/app-config';
import { sessionDurationOf } from './session-duration';

describe('sessionDurationOf', () => {
  const config = loadConfig({ SESSION_MIN_DURATION_S: '60', SESSION_MAX_DURATION_S: '7200' });

  it('defaults to one hour, within the configured bounds', () => {
    expect(sessionDurationOf(undefined, config, ['body', 'sessionDuration'])).toBe(3600);
    expect(sessionDurationOf(undefined, loadConfig({ SESSION_MAX_DURATION_S: '600' }), ['body'])).toBe(600);
  });

  it('accepts the bounds themselves', () => {
    expect(sessionDurationOf(60, config, ['body', 'sessionDuration'])).toBe(60);
    expect(sessionDurationOf(7200, config, ['body', 'sessionDuration'])).toBe(7200);
  });

  it.each([
    [59, 'greater_than_equal'],
    [7201, 'less_than_equal'],
  ])('refuses %d with %s at the given location', (value, type) => {
    try {
      sessionDurationOf(value, config, ['payload', 'sessionDuration']);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(RequestValidationError);
      expect((error as RequestValidationError).issues).toEqual([expect.objectContaining({ loc: ['payload', 'sessionDuration'], type })]);
    }
  });
});
