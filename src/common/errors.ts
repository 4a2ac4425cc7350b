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
 * Base of every typed error a module raises. `detail` is safe to show to the caller and
 * `code` is the stable string of docs/API.md §1's table; whatever is not safe (upstream
 * bodies, SQL) belongs in `cause` or `logFields` and is only logged — once, by whoever
 * handles the error.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Facts for the handler's one log line (operation, upstream status…): never sent to the caller. */
  readonly logFields: Record<string, unknown> = {};

  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = new.target.name;
  }

  /** Adds facts for the log line of whoever handles this error; returns the error. */
  withLogFields(fields: Record<string, unknown>): this {
    Object.assign(this.logFields, fields);
    return this;
  }
}

/** The fields of the one log line a handled failure gets: its code, status and facts, never a secret. */
export function failureLogFields(error: unknown): Record<string, unknown> {
  if (error instanceof DomainError) {
    const cause = error.cause instanceof DomainError ? { cause: error.cause.code, ...error.cause.logFields } : {};
    return { code: error.code, status: error.status, ...cause, ...error.logFields };
  }
  return { code: 'internal_error', err: error };
}

export class RequestValidationError extends DomainError {
  readonly status = 422;
  readonly code: string = 'validation_error';

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
  readonly code: string = 'invalid_credentials';
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
