import { Injectable, Logger } from '@nestjs/common';
import { failureLogFields } from '../common/errors';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { ChainWriteThrottle } from './chain-write-throttle';
import { Session, SessionStatus } from './session.entity';
import { SessionEvents } from './session-events';
import { SessionRepository } from './session.repository';

/**
 * Closes sessions on chain, then in the database. "Already closed" is closed. A failure
 * leaves the row as it was, for the caller to report or the sweeper to retry.
 */
@Injectable()
export class SessionCloser {
  private readonly logger = new Logger(SessionCloser.name);

  constructor(
    private readonly adapter: NodeAdapter,
    private readonly throttle: ChainWriteThrottle,
    private readonly sessions: SessionRepository,
    private readonly events: SessionEvents,
  ) {}

  /** Closes on chain and moves the row from `from` to `to` (with `closed_at`). Throws on failure. */
  async close(row: Session, from: SessionStatus[], to: SessionStatus = 'closed'): Promise<void> {
    await this.throttle.write(() => this.adapter.closeSession(row.chainSessionId!));
    const moved = await this.sessions.transition(row.id, from, to, { closedAt: new Date() });
    if (moved && to === 'closed') await this.events.emit('session.closed', row);
  }

  /** Best effort: a replaced or abandoned session whose close failed is retried by the sweeper. */
  async closeQuietly(row: Session, from: SessionStatus[], to: SessionStatus = 'closed'): Promise<boolean> {
    try {
      await this.close(row, from, to);
      return true;
    } catch (error) {
      this.logger.warn({ ...failureLogFields(error), sessionId: row.chainSessionId }, 'close on chain failed; the sweeper will retry');
      return false;
    }
  }
}
