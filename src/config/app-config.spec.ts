import { assertServable, ConfigError, loadConfig } from './app-config';

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
    expect(config.userRateLimitPerMin).toBe(1_800);
    expect(config.openRateLimitPerMin).toBe(10);
    expect(config.keyCreateLimitPerHour).toBe(20);
  });

  it('the user ceiling follows RATE_LIMIT_PER_MIN unless set', () => {
    expect(loadConfig({ RATE_LIMIT_PER_MIN: '5' }).userRateLimitPerMin).toBe(15);
    expect(loadConfig({ RATE_LIMIT_PER_MIN: '5', USER_RATE_LIMIT_PER_MIN: '7' }).userRateLimitPerMin).toBe(7);
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
    const config = loadConfig({ PORT: '', PROXY_ROUTER_URL: 'https://node:8082/', CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(config.http.port).toBe(3000);
    expect(config.proxyRouter.url).toBe('https://node:8082');
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  describe('plain http:// upstreams', () => {
    it.each(['OIDC_ISSUER_URL', 'PROXY_ROUTER_URL'])('refuses %s over http:// to a host that is not loopback, naming it', (name) => {
      expect(() => loadConfig({ [name]: 'http://idp.example.com' })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: 'http://10.0.0.5:8082' })).toThrow(new RegExp(`\\b${name}\\b.*ALLOW_INSECURE_UPSTREAMS`));
    });

    it.each(['http://127.0.0.1:8082', 'http://localhost:4400', 'http://[::1]:8082', 'https://node.example.com'])(
      'accepts %s (loopback, or TLS)',
      (value) => {
        expect(loadConfig({ OIDC_ISSUER_URL: value, PROXY_ROUTER_URL: value }).proxyRouter.url).toBe(value);
      },
    );

    it('accepts any http:// upstream with ALLOW_INSECURE_UPSTREAMS=true', () => {
      const config = loadConfig({
        ALLOW_INSECURE_UPSTREAMS: 'true',
        OIDC_ISSUER_URL: 'http://idp:8080',
        PROXY_ROUTER_URL: 'http://node:8082',
      });
      expect(config.oidc.issuerUrl).toBe('http://idp:8080');
      expect(config.proxyRouter.url).toBe('http://node:8082');
    });

    it('never echoes the node password in the URL', () => {
      expect(() => loadConfig({ PROXY_ROUTER_URL: 'http://admin:hunter2@node:8082' })).toThrow(/^(?!.*hunter2).*PROXY_ROUTER_URL/);
    });
  });

  describe('the embedded database in production', () => {
    it('refuses NODE_ENV=production without DATABASE_URL, naming the variables', () => {
      expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL.*ALLOW_EMBEDDED_DB/);
    });

    it('accepts it with ALLOW_EMBEDDED_DB=true, with DATABASE_URL, or outside production', () => {
      expect(loadConfig({ NODE_ENV: 'production', ALLOW_EMBEDDED_DB: 'true' }).database.url).toBeUndefined();
      expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/gw' }).database.url).toBe('postgres://db/gw');
      expect(loadConfig({ NODE_ENV: 'development' }).database.url).toBeUndefined();
    });
  });

  describe('an open /metrics', () => {
    it('refuses to serve on a non-loopback HOST without METRICS_TOKEN, naming the variable', () => {
      for (const host of [undefined, '0.0.0.0', '::', '192.0.2.10']) {
        const config = loadConfig(host === undefined ? {} : { HOST: host });
        expect(() => assertServable(config)).toThrow(ConfigError);
        expect(() => assertServable(config)).toThrow(/\bMETRICS_TOKEN\b/);
      }
    });

    it('serves on loopback without a token, and anywhere with one', () => {
      for (const host of ['127.0.0.1', '::1', 'localhost']) expect(() => assertServable(loadConfig({ HOST: host }))).not.toThrow();
      expect(() => assertServable(loadConfig({ HOST: '0.0.0.0', METRICS_TOKEN: 'a-long-metrics-token' }))).not.toThrow();
    });
  });

  it('reads the JWT and introspection settings', () => {
    expect(loadConfig({}).oidc).toMatchObject({ jwtMaxAgeS: 86_400, introspectionRequireTokenType: true });
    const config = loadConfig({ JWT_MAX_AGE_S: '3600', OIDC_INTROSPECTION_REQUIRE_TOKEN_TYPE: 'false' });
    expect(config.oidc).toMatchObject({ jwtMaxAgeS: 3600, introspectionRequireTokenType: false });
    expect(() => loadConfig({ JWT_MAX_AGE_S: '0' })).toThrow(/JWT_MAX_AGE_S/);
  });
});
