import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ClientNats } from '@nestjs/microservices';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SessionEvent, SessionEventName } from '../session/session-events';
import { natsConnectionOptions } from './microservice-options';

/**
 * Publishes session lifecycle events on NATS (docs/API.md §6). Best effort: an event that
 * cannot be published is logged, never allowed to fail the operation that caused it.
 * One client publishes in call order, so a session's events arrive in order.
 */
@Injectable()
export class NatsEventRelay implements OnApplicationShutdown {
  private readonly logger = new Logger(NatsEventRelay.name);
  private readonly client?: ClientNats;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.microservice.natsUrl) this.client = new ClientNats(natsConnectionOptions(config));
  }

  @OnEvent('session.opened')
  opened(event: SessionEvent): void {
    this.publish('session.opened', event);
  }

  @OnEvent('session.closed')
  closed(event: SessionEvent): void {
    this.publish('session.closed', event);
  }

  @OnEvent('session.expired')
  expired(event: SessionEvent): void {
    this.publish('session.expired', event);
  }

  @OnEvent('session.dead')
  dead(event: SessionEvent): void {
    this.publish('session.dead', event);
  }

  private publish(name: SessionEventName, event: SessionEvent): void {
    this.client?.emit(name, event).subscribe({
      error: (error: unknown) => this.logger.warn({ err: error, event: name }, 'could not publish a session event'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.close();
  }
}
