import { Inject, Module, OnModuleInit, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Readiness } from '../health/readiness';
import { Metrics } from '../metrics/metrics';
import { instrumentAdapter } from './instrumented.adapter';
import { ModelCatalog } from './model-catalog';
import { ModelsController } from './models.controller';
import { ModelsMessages } from './models.messages';
import { NotConfiguredProviderAdapter } from './not-configured.adapter';
import { ProviderAdapter } from './provider.adapter';
import { proxyRouterReadiness } from './provider-readiness';
import { ProxyRouterAdapter, type ProxyRouterAdapterOptions } from './proxy-router.adapter';

/**
 * Optional provider of {@link ProxyRouterAdapterOptions} (page size, breaker and retry
 * knobs). Production never binds it; tests do, from a global module, to make them small.
 */
export const PROXY_ROUTER_OPTIONS = Symbol('PROXY_ROUTER_OPTIONS');

/** Without PROXY_ROUTER_URL every adapter call fails fast with a 503 "not configured". */
export function createProviderAdapter(config: AppConfig, options: ProxyRouterAdapterOptions = {}): ProviderAdapter {
  const { url, username, password, timeoutMs, sessionOpenTimeoutMs } = config.proxyRouter;
  if (!url) return new NotConfiguredProviderAdapter();
  return new ProxyRouterAdapter({ url, username, password, timeoutMs, sessionOpenTimeoutMs }, options);
}

/**
 * The marketplace through the proxy-router. Its doors: {@link ProviderAdapter} (the node's
 * operations) and {@link ModelCatalog} (cached live models, name resolution).
 */
@Module({
  controllers: [ModelsController, ModelsMessages],
  providers: [
    {
      provide: ProviderAdapter,
      inject: [APP_CONFIG, { token: PROXY_ROUTER_OPTIONS, optional: true }, { token: Metrics, optional: true }],
      useFactory: (config: AppConfig, options?: ProxyRouterAdapterOptions, metrics?: Metrics) => {
        const adapter = createProviderAdapter(config, options);
        if (!metrics) return adapter; // contexts without metrics (the CLI)
        metrics.sourceCircuit(() => adapter.circuitState());
        return instrumentAdapter(adapter, metrics.providerCalls);
      },
    },
    ModelCatalog,
  ],
  exports: [ProviderAdapter, ModelCatalog],
})
export class ProviderModule implements OnModuleInit {
  constructor(
    private readonly adapter: ProviderAdapter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // Absent in contexts without the health module (the CLI).
    @Optional() private readonly readiness?: Readiness,
  ) {}

  onModuleInit(): void {
    this.readiness?.register(proxyRouterReadiness(this.adapter, this.config.proxyRouter.url !== undefined));
  }
}
