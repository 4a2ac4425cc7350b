import { Inject, Module, OnModuleInit, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Readiness } from '../health/readiness';
import { Metrics } from '../metrics/metrics';
import { instrumentAdapter } from './instrumented.adapter';
import { NotConfiguredNodeAdapter } from './not-configured.adapter';
import { NodeAdapter } from './node.adapter';
import { proxyRouterReadiness } from './proxy-router-readiness';
import { ProxyRouterAdapter, type ProxyRouterAdapterOptions } from './proxy-router.adapter';

/**
 * Optional provider of {@link ProxyRouterAdapterOptions} (page size, breaker and retry
 * knobs). Production never binds it; tests do, from a global module, to make them small.
 */
export const PROXY_ROUTER_OPTIONS = Symbol('PROXY_ROUTER_OPTIONS');

/** Without PROXY_ROUTER_URL every adapter call fails fast with a 503 "not configured". */
export function createNodeAdapter(config: AppConfig, options: ProxyRouterAdapterOptions = {}): NodeAdapter {
  const { url, username, password, timeoutMs, sessionOpenTimeoutMs } = config.proxyRouter;
  if (!url) return new NotConfiguredNodeAdapter();
  return new ProxyRouterAdapter({ url, username, password, timeoutMs, sessionOpenTimeoutMs }, options);
}

/** The proxy-router (the node): its one door is {@link NodeAdapter}, the node's operations in domain types. */
@Module({
  providers: [
    {
      provide: NodeAdapter,
      inject: [APP_CONFIG, { token: PROXY_ROUTER_OPTIONS, optional: true }, { token: Metrics, optional: true }],
      useFactory: (config: AppConfig, options?: ProxyRouterAdapterOptions, metrics?: Metrics) => {
        const adapter = createNodeAdapter(config, options);
        if (!metrics) return adapter; // contexts without metrics (the CLI)
        metrics.sourceCircuit(() => adapter.circuitState());
        return instrumentAdapter(adapter, metrics.providerCalls);
      },
    },
  ],
  exports: [NodeAdapter],
})
export class ProxyRouterModule implements OnModuleInit {
  constructor(
    private readonly adapter: NodeAdapter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // Absent in contexts without the health module (the CLI).
    @Optional() private readonly readiness?: Readiness,
  ) {}

  onModuleInit(): void {
    this.readiness?.register(proxyRouterReadiness(this.adapter, this.config.proxyRouter.url !== undefined));
  }
}
