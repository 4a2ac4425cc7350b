import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Readiness } from '../health/readiness';
import { MessagingStatus } from './messaging-status';
import { NatsEventRelay } from './nats-event-relay';

/** The internal interface's plumbing: event relay and connection status (handlers live with their modules). */
@Module({
  providers: [MessagingStatus, NatsEventRelay],
  exports: [MessagingStatus],
})
export class MessagingModule implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly readiness: Readiness,
    private readonly status: MessagingStatus,
  ) {}

  onModuleInit(): void {
    const natsConfigured = this.config.microservice.natsUrl !== undefined;
    // Listed, but never critical: a NATS outage alone must not make HTTP unready.
    this.readiness.register({ name: 'nats', critical: false, check: async () => this.status.health(natsConfigured) });
  }
}
