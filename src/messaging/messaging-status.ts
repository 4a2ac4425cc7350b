import { Injectable } from '@nestjs/common';
import { ComponentHealth } from '../health/readiness';

/** The message listener's connection state, as its transport reports it. */
@Injectable()
export class MessagingStatus {
  private state = 'starting';

  update(state: string): void {
    this.state = state;
  }

  health(natsConfigured: boolean): ComponentHealth {
    if (!natsConfigured) return { status: 'not_configured' };
    return this.state === 'connected' ? { status: 'up' } : { status: 'down', detail: this.state };
  }
}
