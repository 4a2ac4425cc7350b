import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('starts with nothing set: embedded database, no proxy-router, API keys only', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.database.dataDir).toBe('./data');
    expect(config.proxyRouter.url).toBeUndefined();
    expect(config.oidc.issuerUrl).toBeUndefined();
    expect(config.oidc.jwksCacheMaxAgeS).toBe(600);
    expect(config.sessions).toEqual({
      minDurationS: 300,
      maxDurationS: 86_400,
      pingTimeoutMs: 30_000,
      sweepIntervalS: 60,
      chainThrottleCooldownS: 20,
    });
    expect(config.rateLimitPerMin).toBe(600);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DB_POOL_SIZE', '0'],
    ['PROXY_ROUTER_URL', 'not a url'],
    ['PROXY_ROUTER_URL', 'ftp://node'],
    ['OIDC_ISSUER_URL', '//issuer'],
    ['TRUST_PROXY', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['CORS_ORIGINS', 'https://ok.example,not-an-origin'],
    ['SESSION_OPEN_TIMEOUT_MS', '-5'],
    ['OIDC_JWKS_CACHE_MAX_AGE_S', '0'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('refuses a maximum duration below the minimum', () => {
    expect(() => loadConfig({ SESSION_MIN_DURATION_S: '600', SESSION_MAX_DURATION_S: '60' })).toThrow(/SESSION_MAX_DURATION_S/);
  });

  it('never echoes credentials embedded in a URL', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toContain('hunter2');
  });

  it('treats empty values as unset and trims trailing slashes from URLs', () => {
    const config = loadConfig({ PORT: '', PROXY_ROUTER_URL: 'http://node:8082/', CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(config.http.port).toBe(3000);
    expect(config.proxyRouter.url).toBe('http://node:8082');
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });
});
