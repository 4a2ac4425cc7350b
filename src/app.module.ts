import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';
import { HealthModule } from './health/health.module';
import { SessionModule } from './session/session.module';
import { MessagingModule } from './messaging/messaging.module';
import { MetricsModule } from './metrics/metrics.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { LoggingModule, LogSink } from './common/logging.module';
import { ModelsModule } from './models/models.module';
import { ProxyRouterModule } from './proxy-router/proxy-router.module';

export interface AppModuleOptions {
  /** Where log lines go (tests capture them to check that no secret is ever logged). */
  logSink?: LogSink;
  /** Extra modules mounted in the same pipeline (tests mount probe routes this way). */
  extraImports?: ModuleMetadata['imports'];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, options.logSink),
        EventEmitterModule.forRoot(),
        MetricsModule,
        DatabaseModule.forRoot({ entities: ENTITIES }),
        HealthModule,
        AuthModule,
        // After AuthModule: its guard must see the authenticated principal.
        RateLimitModule,
        SessionModule,
        MessagingModule,
        ProxyRouterModule,
        ModelsModule,
        ...(options.extraImports ?? []),
      ],
    };
  }
}
