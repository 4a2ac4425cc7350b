import { isLosslessNumber, parse } from 'lossless-json';

/**
 * Readers for values in the node's JSON. The node is untrusted: every value is checked
 * before it becomes a domain value, and numbers are parsed losslessly (Go `*big.Int`
 * fields are JSON numbers beyond 2^53, which `JSON.parse` would silently round).
 */

/** The node sent something we cannot read. The message names the field, never values. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

export type WireObject = Record<string, unknown>;

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UNSIGNED = /^\d+$/;

export const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
export const ZERO_HASH = `0x${'0'.repeat(64)}`;

/** Parses a body; numbers become `LosslessNumber`s, read by the functions below. */
export function parseWireJson(text: string): unknown {
  try {
    return parse(text);
  } catch {
    throw new WireFormatError('the answer is not JSON');
  }
}

export function isWireObject(value: unknown): value is WireObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value);
}

export function asObject(value: unknown, what: string): WireObject {
  if (!isWireObject(value)) throw new WireFormatError(`${what} is not an object`);
  return value;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new WireFormatError(`${what} is not an array`);
  return value;
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new WireFormatError(`${what} is not a string`);
  return value;
}

export function asBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new WireFormatError(`${what} is not a boolean`);
  return value;
}

/** `0x` + 64 hex digits, returned lower-case. */
export function asHex32(value: unknown, what: string): string {
  const text = asString(value, what);
  if (!HEX32.test(text)) throw new WireFormatError(`${what} is not a 32-byte hex id`);
  return text.toLowerCase();
}

/** `0x` + 40 hex digits, returned lower-case. */
export function asAddress(value: unknown, what: string): string {
  const text = asString(value, what);
  if (!ADDRESS.test(text)) throw new WireFormatError(`${what} is not an address`);
  return text.toLowerCase();
}

/** A non-negative integer given as a JSON number (`*big.Int`) or a decimal string (`lib.BigInt`). */
export function asBigInt(value: unknown, what: string): bigint {
  const text = isLosslessNumber(value) ? value.toString() : typeof value === 'string' ? value : undefined;
  if (text === undefined || !UNSIGNED.test(text)) throw new WireFormatError(`${what} is not a non-negative integer`);
  return BigInt(text);
}

/** A wei amount as a canonical decimal string. */
export function asDecimalString(value: unknown, what: string): string {
  return asBigInt(value, what).toString();
}

/** Unix seconds: an integer that must fit a JS number exactly. */
export function asUnixSeconds(value: unknown, what: string): number {
  const big = asBigInt(value, what);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireFormatError(`${what} is out of range`);
  return Number(big);
}

/** A float (a rating score); precision does not matter here. */
export function asFloat(value: unknown, what: string): number {
  const number = isLosslessNumber(value) ? Number(value.toString()) : Number.NaN;
  if (!Number.isFinite(number)) throw new WireFormatError(`${what} is not a number`);
  return number;
}
