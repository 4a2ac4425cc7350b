import { oidcEnv } from '../app';
import { SIMULATOR } from './simulator';

export interface GatewayEnvOptions {
  /**
   * Default true: the settings of the e2e suites (below). False leaves the gateway's own
   * defaults, as benchmarks measure them, and no identity provider.
   */
  testSettings?: boolean;
}

/**
 * The environment of a gateway on `db` in front of `node` (the simulator, or a relay in
 * front of it), with the kit's simulator credential; the rate limits are out of reach and
 * logs are warnings only. Test settings: the e2e run's identity provider, small timeouts,
 * sweeps only when a test calls `sweep()` (the interval is an hour), durations 60–7200 s,
 * a 2 s chain-write cooldown. `overrides` win.
 */
export function gatewayEnv(
  db: { url: string },
  node: { url: string },
  overrides: Record<string, string> = {},
  { testSettings = true }: GatewayEnvOptions = {},
): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    PROXY_ROUTER_URL: node.url,
    PROXY_ROUTER_USERNAME: SIMULATOR.username,
    PROXY_ROUTER_PASSWORD: SIMULATOR.password,
    RATE_LIMIT_PER_MIN: '10000000',
    OPEN_RATE_LIMIT_PER_MIN: '10000000',
    KEY_CREATE_LIMIT_PER_HOUR: '10000000',
    LOG_LEVEL: 'warn',
    ...(testSettings
      ? {
          ...oidcEnv(),
          SESSION_OPEN_TIMEOUT_MS: '3000',
          PROXY_ROUTER_TIMEOUT_MS: '1500',
          PING_TIMEOUT_MS: '1000',
          SESSION_SWEEP_INTERVAL_S: '3600',
          SESSION_MIN_DURATION_S: '60',
          SESSION_MAX_DURATION_S: '7200',
          CHAIN_THROTTLE_COOLDOWN_S: '2',
        }
      : {}),
    ...overrides,
  };
}
