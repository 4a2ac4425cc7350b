import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Session } from './session.entity';

export const SESSION_EVENTS = ['session.opened', 'session.closed', 'session.expired', 'session.dead'] as const;
export type SessionEventName = (typeof SESSION_EVENTS)[number];

/** The payload of docs/API.md §6's events. */
export interface SessionEvent {
  session_id: string;
  api_key_prefix: string;
  model: string | null;
  at: string;
}

/** Publishes session lifecycle events in-process; transports (NATS) relay them. */
@Injectable()
export class SessionEvents {
  constructor(
    private readonly emitter: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async emit(name: SessionEventName, session: Session, apiKeyPrefix?: string): Promise<void> {
    if (!session.chainSessionId) return;
    const prefix = apiKeyPrefix ?? (await this.prefixOf(session.apiKeyId));
    const event: SessionEvent = {
      session_id: session.chainSessionId,
      api_key_prefix: prefix,
      model: session.modelId,
      at: new Date().toISOString(),
    };
    this.emitter.emit(name, event);
  }

  private async prefixOf(apiKeyId: string): Promise<string> {
    const rows: { key_prefix: string }[] = await this.dataSource.query('SELECT key_prefix FROM api_keys WHERE id = $1', [apiKeyId]);
    return rows[0] ? `sk-${rows[0].key_prefix}` : '';
  }
}
