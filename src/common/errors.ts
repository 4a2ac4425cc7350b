/** One entry of a 422 answer, in the FastAPI/pydantic shape existing clients parse. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: ValidationIssueType;
}

export type ValidationIssueType =
  | 'missing'
  | 'json_invalid'
  | 'extra_forbidden'
  | 'int_parsing'
  | 'int_type'
  | 'int_from_float'
  | 'bool_parsing'
  | 'bool_type'
  | 'string_type'
  | 'string_pattern_mismatch'
  | 'string_too_short'
  | 'string_too_long'
  | 'greater_than_equal'
  | 'less_than_equal'
  | 'literal_error'
  | 'model_type';

/**
 * Base of every typed error a module raises. `detail` is safe to show to the caller;
 * whatever is not (upstream bodies, SQL) belongs in `cause` and is only logged.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;

  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = new.target.name;
  }
}

export class RequestValidationError extends DomainError {
  readonly status = 422;
  readonly code: string = 'validation_failed';

  constructor(readonly issues: ValidationIssue[]) {
    super('Request validation failed');
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
  readonly code: string = 'bad_request';
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly code: string = 'unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly code: string = 'forbidden';
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly code: string = 'not_found';
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly code: string = 'conflict';
}

/** Postgres' SQLSTATE for unique violations, mapped by constraint name where it happens. */
export const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } })?.driverError ?? error;
  const { code, constraint: name } = (driverError ?? {}) as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION && (constraint === undefined || name === constraint);
}
