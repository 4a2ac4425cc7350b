import { RequestValidationError } from '../common/errors';
import { AppConfig } from '../config/app-config';

const DEFAULT_DURATION_S = 3600;

/**
 * `sessionDuration`'s bounds come from configuration, so they are checked here rather than
 * in the DTO's static decorators; the answer has the same 422 shape. `loc` is the path of
 * the field (`body` over HTTP, `payload` over messages).
 */
export function sessionDurationOf(value: number | undefined, config: AppConfig, loc: (string | number)[]): number {
  const { minDurationS, maxDurationS } = config.sessions;
  if (value === undefined) return Math.min(Math.max(DEFAULT_DURATION_S, minDurationS), maxDurationS);
  if (value < minDurationS) {
    throw new RequestValidationError([{ loc, msg: `Input should be greater than or equal to ${minDurationS}`, type: 'greater_than_equal' }]);
  }
  if (value > maxDurationS) {
    throw new RequestValidationError([{ loc, msg: `Input should be less than or equal to ${maxDurationS}`, type: 'less_than_equal' }]);
  }
  return value;
}
