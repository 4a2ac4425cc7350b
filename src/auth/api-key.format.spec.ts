import { apiKeyPrefixOf, displayPrefix, generateApiKey, hashApiKey, hashesMatch } from './api-key.format';

describe('API key format', () => {
  it('generates sk-<8 alphanumerics>.<256-bit base64url secret>', () => {
    const { key, prefix } = generateApiKey();
    expect(key).toMatch(/^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefixOf(key)).toBe(prefix);
    expect(displayPrefix(prefix)).toBe(`sk-${prefix}`);
  });

  it('never generates the same key twice', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });

  it.each(['sk-short.secretsecretsecretsecretsecretsecret', 'sk-AbCd1234', 'sk-AbCd1234.tooshort', 'pk-AbCd1234.' + 'a'.repeat(43)])(
    'rejects the malformed key %s',
    (key) => {
      expect(apiKeyPrefixOf(key)).toBeUndefined();
    },
  );

  it('hashes with SHA-256, or HMAC-SHA-256 when a pepper is set', () => {
    const key = 'sk-AbCd1234.' + 'a'.repeat(43);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key, 'pepper')).not.toBe(hashApiKey(key));
    expect(hashApiKey(key, 'pepper')).toBe(hashApiKey(key, 'pepper'));
  });

  it('compares hashes exactly', () => {
    const a = hashApiKey('sk-AbCd1234.' + 'a'.repeat(43));
    const b = hashApiKey('sk-AbCd1234.' + 'b'.repeat(43));
    expect(hashesMatch(a, a)).toBe(true);
    expect(hashesMatch(a, b)).toBe(false);
    expect(hashesMatch(a, a.slice(0, 62))).toBe(false);
  });
});
