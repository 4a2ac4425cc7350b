import { DomainError } from '../common/errors';
import type { ComponentHealth, ReadinessCheck } from '../health/readiness';
import type { NodeAdapter } from './node.adapter';

export const PROXY_ROUTER_COMPONENT = 'proxy_router';
/** docs/API.md §8: how long one answer of the node serves readiness probes. */
export const READINESS_REUSE_MS = 1_000;

/**
 * `proxy_router` in GET /health/ready: critical when configured (the gateway can do
 * nothing useful without it), listed as not configured otherwise. The probe bypasses the
 * circuit breaker (see ProxyRouterClient.probe): readiness reports the node as it is now.
 */
export function proxyRouterReadiness(adapter: NodeAdapter, configured: boolean): ReadinessCheck {
  if (!configured) {
    return { name: PROXY_ROUTER_COMPONENT, critical: false, check: async () => ({ status: 'not_configured' }) };
  }
  // Probes are unauthenticated: concurrent ones share one node call, and its answer serves
  // every probe for REUSE_MS after it settles, so a flood of probes is not a flood at the node.
  let last: { result: Promise<ComponentHealth>; settledAt?: number } | undefined;
  const probe = (): Promise<ComponentHealth> => {
    const entry: { result: Promise<ComponentHealth>; settledAt?: number } = {
      result: adapter.health().then(
        (): ComponentHealth => ({ status: 'up' }),
        // Our errors' details are safe to show (no URL, no credentials); anything else is not.
        (error: unknown): ComponentHealth => ({ status: 'down', detail: error instanceof DomainError ? error.detail : 'check failed' }),
      ),
    };
    void entry.result.then(() => (entry.settledAt = Date.now()));
    last = entry;
    return entry.result;
  };
  return {
    name: PROXY_ROUTER_COMPONENT,
    critical: true,
    check: () => {
      if (last && (last.settledAt === undefined || Date.now() - last.settledAt < READINESS_REUSE_MS)) return last.result;
      return probe();
    },
  };
}
