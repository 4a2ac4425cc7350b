import type { ValidationError } from 'class-validator';
import type { ValidationIssue, ValidationIssueType } from '../errors';

type Loc = (string | number)[];

/** Checked in this order: a value of the wrong type is reported as that, not as out of range. */
const PRIORITY = [
  'whitelistValidation',
  'isDefined',
  'int',
  'bool',
  'isString',
  'minLength',
  'maxLength',
  'matches',
  'min',
  'max',
  'equals',
];

function describe(constraint: string, error: ValidationError): { type: ValidationIssueType; msg: string } {
  const value: unknown = error.value;
  const args: unknown = error.contexts?.[constraint];
  switch (constraint) {
    case 'whitelistValidation':
      return { type: 'extra_forbidden', msg: 'Extra inputs are not permitted' };
    case 'isDefined':
      return { type: 'missing', msg: 'Field required' };
    case 'int':
      if (typeof value === 'number')
        return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' };
      if (typeof value === 'string')
        return { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' };
      return { type: 'int_type', msg: 'Input should be a valid integer' };
    case 'bool':
      if (typeof value === 'string' || typeof value === 'number')
        return { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' };
      return { type: 'bool_type', msg: 'Input should be a valid boolean' };
    case 'isString':
      return { type: 'string_type', msg: 'Input should be a valid string' };
    case 'minLength':
      return { type: 'string_too_short', msg: error.constraints![constraint] };
    case 'maxLength':
      return { type: 'string_too_long', msg: error.constraints![constraint] };
    case 'matches':
      return { type: 'string_pattern_mismatch', msg: error.constraints![constraint] };
    case 'min':
      return { type: 'greater_than_equal', msg: error.constraints![constraint] };
    case 'max':
      return { type: 'less_than_equal', msg: error.constraints![constraint] };
    case 'equals':
      return { type: 'literal_error', msg: 'Input should be false: this route cannot honour it' };
    default:
      return { type: 'model_type', msg: typeof args === 'string' ? args : (error.constraints?.[constraint] ?? 'Invalid input') };
  }
}

/** class-validator's errors as pydantic-style issues: one per field, the most relevant first. */
export function toIssues(errors: ValidationError[], loc: Loc): ValidationIssue[] {
  return errors.flatMap((error) => {
    const here = [...loc, error.property];
    if (error.children?.length) return toIssues(error.children, here);
    const names = Object.keys(error.constraints ?? {});
    const constraint = PRIORITY.find((name) => names.includes(name)) ?? names[0];
    return constraint ? [{ loc: here, ...describe(constraint, error) }] : [];
  });
}
