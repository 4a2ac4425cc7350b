import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_SHAPE = /^sk-([A-Za-z0-9]{8})\.([A-Za-z0-9_-]{32,128})$/;

/** `sk-<prefix>.<secret>`: the prefix finds the row, the secret (256 random bits) proves possession. */
export interface GeneratedApiKey {
  key: string;
  prefix: string;
}

export function generateApiKey(): GeneratedApiKey {
  let prefix = '';
  for (let i = 0; i < 8; i++) prefix += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  const secret = randomBytes(32).toString('base64url');
  return { key: `sk-${prefix}.${secret}`, prefix };
}

/** The prefix of a well-formed key, or undefined for anything that cannot be one of ours. */
export function apiKeyPrefixOf(key: string): string | undefined {
  return KEY_SHAPE.exec(key)?.[1];
}

/**
 * A fast hash is the right tool here: keys are 256-bit random, so there is nothing to
 * brute-force, and a slow KDF would cost every request (docs/DESIGN.md "Lessons from production"). With a pepper the
 * hash is an HMAC, so a stolen table alone cannot be used to check guesses.
 */
export function hashApiKey(key: string, pepper?: string): string {
  return pepper ? createHmac('sha256', pepper).update(key).digest('hex') : createHash('sha256').update(key).digest('hex');
}

export function hashesMatch(expectedHex: string, actualHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const actual = Buffer.from(actualHex, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What listings and session answers show of a key. */
export function displayPrefix(prefix: string): string {
  return `sk-${prefix}`;
}
