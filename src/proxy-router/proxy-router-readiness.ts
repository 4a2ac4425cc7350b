import { DomainError } from '../common/errors';
import type { ComponentHealth, ReadinessCheck } from '../health/readiness';
import type { NodeAdapter } from './node.adapter';

export const PROXY_ROUTER_COMPONENT = 'proxy_router';

/**
 * `proxy_router` in GET /health/ready: critical when configured (the gateway can do
 * nothing useful without it), listed as not configured otherwise. The probe bypasses the
 * circuit breaker (see ProxyRouterClient.probe): readiness reports the node as it is now.
 */
export function proxyRouterReadiness(adapter: NodeAdapter, configured: boolean): ReadinessCheck {
  if (!configured) {
    return { name: PROXY_ROUTER_COMPONENT, critical: false, check: async () => ({ status: 'not_configured' }) };
  }
  return {
    name: PROXY_ROUTER_COMPONENT,
    critical: true,
    check: () =>
      adapter.health().then(
        (): ComponentHealth => ({ status: 'up' }),
        // Our errors' details are safe to show (no URL, no credentials); anything else is not.
        (error: unknown): ComponentHealth => ({ status: 'down', detail: error instanceof DomainError ? error.detail : 'check failed' }),
      ),
  };
}
