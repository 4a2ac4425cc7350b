import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RequestValidationError, ValidationIssue } from '../errors';
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
  const instance = plainToInstance(metatype, value) as T;
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: strict,
    validationError: { target: false, value: true },
  });
  if (errors.length) throw new RequestValidationError(toIssues(errors, [loc]));
  return instance;
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
