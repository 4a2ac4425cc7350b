import { RequestValidationError, ValidationIssue } from '../common/errors';
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
  const issue = durationIssue(value, config, loc);
  if (issue) throw new RequestValidationError([issue]);
  return value;
}

/** The bounds problem of a duration that is already a valid integer, if any. */
export function durationIssue(value: unknown, config: AppConfig, loc: (string | number)[]): ValidationIssue | undefined {
  const { minDurationS, maxDurationS } = config.sessions;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined; // a type problem, reported as such
  if (value < minDurationS) return { loc, msg: `Input should be greater than or equal to ${minDurationS}`, type: 'greater_than_equal' };
  if (value > maxDurationS) return { loc, msg: `Input should be less than or equal to ${maxDurationS}`, type: 'less_than_equal' };
  return undefined;
}

/** Adds the bounds problem to a list of problems, unless the field already has one. */
export function durationIssues(value: unknown, config: AppConfig, loc: (string | number)[], issues: ValidationIssue[]): ValidationIssue[] {
  const already = issues.some((i) => JSON.stringify(i.loc) === JSON.stringify(loc));
  const issue = already ? undefined : durationIssue(value, config, loc);
  return issue ? [issue] : [];
}
