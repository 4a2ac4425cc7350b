import { type INestApplicationContext, Module, OnModuleInit } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { AuthCoreModule } from '../auth/auth.module';
import { ModelsModule } from '../models/models.module';
import { ProxyRouterModule } from '../proxy-router/proxy-router.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { ApiKeyRevokedListener } from './api-key-revoked.listener';
import { ChainThrottleRepository } from './chain-throttle.repository';
import { ChainWriteThrottle } from './chain-write-throttle';
import { SessionCloser } from './session-closer';
import { SessionController } from './session.controller';
import { SessionMessages } from './session.messages';
import { SessionEvents } from './session-events';
import { SessionOpener } from './session-opener';
import { SessionReconciler } from './session-reconciler';
import { SessionRepository } from './session.repository';
import { SessionSettler } from './session-settler';
import { SessionService } from './session.service';
import { SessionSweeper } from './session-sweeper';

@Module({
  imports: [AuthCoreModule, ProxyRouterModule, ModelsModule, RateLimitModule],
  controllers: [SessionController, SessionMessages],
  providers: [
    SessionRepository,
    SessionEvents,
    ChainThrottleRepository,
    ChainWriteThrottle,
    SessionCloser,
    SessionSettler,
    SessionReconciler,
    SessionOpener,
    SessionService,
    SessionSweeper,
    ApiKeyRevokedListener,
  ],
  exports: [SessionService, SessionSweeper, SessionOpener],
})
export class SessionModule implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly sweeper: SessionSweeper,
  ) {}

  onModuleInit(): void {
    this.metrics.sourceSessionCounts(() => this.sweeper.sessionCounts);
    this.metrics.sourceUnmatchedWalletSessions(() => this.sweeper.unmatchedWalletSessions);
  }
}

/**
 * The opens still running on this instance, for the shutdown: it gives them a bounded time
 * to be recorded (docs/API.md §8). The one way into the opener from outside this room.
 */
export function runningOpens(app: INestApplicationContext): Promise<unknown>[] {
  return app.get(SessionOpener).running;
}
