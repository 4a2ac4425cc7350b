import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { CloseReason, Session } from './session.entity';
import { SessionRepository } from './session.repository';

export const SESSION_EVENTS = ['session.opened', 'session.closed', 'session.expired', 'session.dead'] as const;
export type SessionEventName = (typeof SESSION_EVENTS)[number];

/** The payload of docs/API.md §6's events. */
export interface SessionEvent {
  session_id: string;
  api_key_prefix: string;
  model: string | null;
  at: string;
  /** `session.closed` only: why (docs/API.md §5 "Close reasons"; null for a row closed before reasons were recorded). */
  reason?: CloseReason | null;
}

/** Publishes session lifecycle events in-process; transports (NATS) relay them. */
@Injectable()
export class SessionEvents {
  constructor(
    private readonly emitter: EventEmitter2,
    private readonly sessions: SessionRepository,
  ) {}

  async emit(name: SessionEventName, session: Session, apiKeyPrefix?: string): Promise<void> {
    if (!session.chainSessionId) return;
    const prefix = apiKeyPrefix ?? (await this.sessions.keyPrefixOf(session.apiKeyId));
    const event: SessionEvent = {
      session_id: session.chainSessionId,
      api_key_prefix: prefix,
      model: session.modelId,
      at: new Date().toISOString(),
      ...(name === 'session.closed' ? { reason: session.closeReason } : {}),
    };
    this.emitter.emit(name, event);
  }
}
