import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { Equals, IS_DEFINED, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateBy, ValidateIf } from 'class-validator';

/**
 * Field decorators that validate the way the API contract (pydantic-style) reads input:
 * integers from JSON integers or decimal strings, booleans from true/false or their
 * strings, nothing else. Constraint names are mapped to pydantic `type`s by the pipe.
 */
interface FieldOptions {
  optional?: boolean;
}

const DECIMAL_INTEGER = /^[+-]?\d+$/;

/**
 * Present-or-required: `undefined` is "not sent"; `null` is a value that fails the type check
 * (as pydantic reads it), so "required" cannot be class-validator's IsDefined, which refuses
 * null as missing. The constraint keeps IsDefined's name: the pipe maps it to `missing`.
 */
const required = ValidateBy({ name: IS_DEFINED, validator: { validate: (value) => value !== undefined } });

function presence(optional: boolean | undefined): PropertyDecorator {
  return optional ? ValidateIf((_, value) => value !== undefined) : required;
}

export function IntField(options: FieldOptions & { min?: number; max?: number } = {}): PropertyDecorator {
  const decorators: PropertyDecorator[] = [
    presence(options.optional),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && DECIMAL_INTEGER.test(value.trim()) ? Number(value) : value)),
    ValidateBy({ name: 'int', validator: { validate: (value) => Number.isSafeInteger(value) } }),
  ];
  if (options.min !== undefined) decorators.push(Min(options.min));
  if (options.max !== undefined) decorators.push(Max(options.max));
  return applyDecorators(...decorators);
}

export function BoolField(options: FieldOptions = {}): PropertyDecorator {
  return applyDecorators(
    presence(options.optional),
    Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)),
    ValidateBy({ name: 'bool', validator: { validate: (value) => typeof value === 'boolean' } }),
  );
}

/** A boolean the server cannot honour as `true` (e.g. flags the node's bid route lacks). */
export function FalseOnlyField(): PropertyDecorator {
  return applyDecorators(BoolField({ optional: true }), Equals(false));
}

export function StringField(options: FieldOptions & { minLength?: number; maxLength?: number; pattern?: RegExp } = {}): PropertyDecorator {
  const decorators: PropertyDecorator[] = [presence(options.optional), IsString()];
  if (options.minLength !== undefined) decorators.push(MinLength(options.minLength));
  if (options.maxLength !== undefined) decorators.push(MaxLength(options.maxLength));
  if (options.pattern) decorators.push(Matches(options.pattern));
  return applyDecorators(...decorators);
}
