import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RequestValidationError, ValidationIssue } from '../errors';
import { nestedDeeperThan, tooDeepIssue } from './depth';
import { toIssues } from './issues';

const OPTIONAL_BODY = Symbol('optionalBody');

/** Marks a body DTO whose body may be absent or empty (`{}`, no body at all). */
export function OptionalBody(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(OPTIONAL_BODY, true, target);
  };
}

const LOCATION: Record<string, string> = { body: 'body', query: 'query', param: 'path' };

/**
 * Validates DTOs and answers 422 in the contract's shape. Bodies are strict (unknown
 * fields are errors); query strings only keep known parameters, as FastAPI does.
 */
@Injectable()
export class ApiValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const { metatype, type } = metadata;
    if (!metatype || !LOCATION[type] || isPrimitive(metatype)) return value;
    const loc = LOCATION[type];
    if (type === 'body') {
      const problem = checkBody(value, Reflect.getMetadata(OPTIONAL_BODY, metatype) === true);
      if (problem) throw new RequestValidationError([problem]);
      value ??= {};
    }
    return validateInput(metatype as new () => object, value ?? {}, loc, type === 'body');
  }
}

/**
 * Validates a plain value against a DTO class; `strict` makes unknown fields errors.
 * Shared by HTTP (this pipe) and messages (whose `loc` starts with `payload`).
 */
export function validateInput<T extends object>(metatype: new () => T, value: unknown, loc: string, strict: boolean): T {
  const { instance, issues } = inspectInput(metatype, value, loc, strict);
  if (issues.length) throw new RequestValidationError(issues);
  return instance;
}

/** The DTO instance and every problem with it, without throwing (callers merge several parts). */
export function inspectInput<T extends object>(
  metatype: new () => T,
  value: unknown,
  loc: string,
  strict: boolean,
): { instance: T; issues: ValidationIssue[] } {
  // Before class-transformer, which recurses once per level: 10,000 levels overflowed its stack (a 500).
  if (nestedDeeperThan(value)) return { instance: new metatype(), issues: [tooDeepIssue(loc)] };
  const instance = plainToInstance<T, unknown>(metatype, value);
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: strict,
    validationError: { target: false, value: true },
  });
  return { instance, issues: toIssues(errors, [loc]) };
}

/**
 * Validates a request's query and body together, so that one 422 lists every problem
 * (docs/API.md §1), then lets the caller add checks that need configuration.
 */
export function validateRequest<Q extends object, B extends object>(
  raw: { query: unknown; body: unknown },
  query: new () => Q,
  body: new () => B,
  extra: (query: Q, body: B, issues: ValidationIssue[]) => ValidationIssue[] = () => [],
): { query: Q; body: B } {
  const q = inspectInput(query, raw.query ?? {}, 'query', false);
  const bodyProblem = checkBody(raw.body, Reflect.getMetadata(OPTIONAL_BODY, body) === true);
  const b = bodyProblem ? { instance: new body(), issues: [bodyProblem] } : inspectInput(body, raw.body ?? {}, 'body', true);
  const issues = [...q.issues, ...b.issues];
  issues.push(...extra(q.instance, b.instance, issues));
  if (issues.length) throw new RequestValidationError(issues);
  return { query: q.instance, body: b.instance };
}

function isPrimitive(metatype: unknown): boolean {
  return [String, Boolean, Number, Array, Object].includes(metatype as never);
}

function checkBody(value: unknown, optional: boolean): ValidationIssue | undefined {
  if (value === undefined || value === null || value === '') {
    return optional ? undefined : { loc: ['body'], msg: 'Field required', type: 'missing' };
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { loc: ['body'], msg: 'Input should be a valid dictionary or object', type: 'model_type' };
  }
  return undefined;
}
