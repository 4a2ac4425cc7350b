import type { ValidationIssue } from '../errors';

/** docs/API.md §1: deeper inputs are refused before class-transformer recurses into them. */
export const MAX_INPUT_DEPTH = 8;

/**
 * Whether `value` nests objects or arrays more than `max` levels (`{"a":1}` is one level).
 * Iterative and stopping at the first level too many, so a 10,000-level input costs nothing.
 */
export function nestedDeeperThan(value: unknown, max = MAX_INPUT_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The one issue a too-deep input gets, at `loc` (`body`, `payload`, …). */
export function tooDeepIssue(loc: string): ValidationIssue {
  return { loc: [loc], msg: `JSON nested too deeply: more than ${MAX_INPUT_DEPTH} levels`, type: 'json_invalid' };
}

/** The one issue an input that does not parse as JSON gets, at `loc`. */
export function notJsonIssue(loc: string): ValidationIssue {
  return { loc: [loc], msg: 'JSON decode error', type: 'json_invalid' };
}
