import { Injectable, Logger } from '@nestjs/common';
import { failureLogFields } from '../common/errors';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { ChainWriteThrottle } from './chain-write-throttle';
import { Session } from './session.entity';
import { CloseReason, SessionStatus } from './session-lifecycle';
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

  /**
   * Closes on chain and records it (`closed_at`, and `reason` unless the row already says
   * why) on a row still in `from`: `closed`, or for an expired one, still `expired`. Throws
   * on failure.
   */
  async close(row: Session, from: readonly SessionStatus[], reason: CloseReason | null): Promise<void> {
    await this.throttle.write(() => this.adapter.closeSession(row.chainSessionId!));
    const to = from.includes('expired') ? 'expired' : 'closed';
    const moved = await this.sessions.transition(row.id, to, 'close', { from, set: { closedAt: new Date() }, reason });
    // The row as written: its reason is the first one recorded.
    if (moved && to === 'closed') await this.events.emit('session.closed', moved);
  }

  /** Best effort: a replaced or abandoned session whose close failed is retried by the sweeper. */
  async closeQuietly(row: Session, from: readonly SessionStatus[], reason: CloseReason | null): Promise<boolean> {
    try {
      await this.close(row, from, reason);
      return true;
    } catch (error) {
      this.logger.warn({ ...failureLogFields(error), sessionId: row.chainSessionId }, 'close on chain failed; the sweeper will retry');
      return false;
    }
  }
}
