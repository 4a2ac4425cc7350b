import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Metrics } from '../metrics/metrics';
import { Session } from './session.entity';
import { SessionCloser } from './session-closer';
import { SessionEvents } from './session-events';
import { OnChainFacts, SessionRepository } from './session.repository';

export interface Settled {
  session: Session;
  /** The key's previous session, now `closing` (closed on chain already if that worked). */
  replaced: Session | null;
  /** The key was revoked (or its user deactivated) while the open was in flight: the new session is being closed, for this reason. */
  keyStopped: 'revoked' | 'user_deactivated' | null;
}

/**
 * The one path that settles an `opening` intent (step 3 of docs/DESIGN.md "The open
 * protocol"), for the opener (the node answered) and the reconciler (it found out) alike.
 */
@Injectable()
export class SessionSettler {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly closer: SessionCloser,
    private readonly events: SessionEvents,
    private readonly metrics: Metrics,
  ) {}

  /**
   * The open happened: the intent is the key's active session and the one it replaces is
   * closed on chain (rule 3). Null when the intent was settled meanwhile.
   */
  async opened(intent: Session, facts: OnChainFacts, how: 'opened' | 'adopted', apiKeyPrefix?: string): Promise<Settled | null> {
    const settled = await this.sessions.underKeyLock(intent.apiKeyId, async (rows): Promise<Settled | null> => {
      const session = await rows.transition(intent.id, 'active', 'settle', { from: ['opening'], set: openedValues(facts) });
      if (!session) return null;
      const replacing = (await rows.held(intent.apiKeyId)).find((row) => row.status === 'replacing');
      const replaced = replacing ? await rows.transition(replacing.id, 'closing', 'settle', { reason: 'replaced' }) : null;
      return { session, replaced, keyStopped: await rows.keyStopped(intent.apiKeyId) };
    });
    if (!settled) return null;
    this.metrics.opens.inc({ outcome: how });
    if (settled.keyStopped) {
      // Recorded, so the chain id is known; closed right away rather than left paid and
      // active until the next sweep (which retries the close if this one fails).
      await this.closer.closeQuietly(settled.session, ['active'], settled.keyStopped);
    } else {
      await this.events.emit('session.opened', settled.session, apiKeyPrefix);
    }
    if (settled.replaced) await this.closer.closeQuietly(settled.replaced, ['closing'], 'replaced');
    return settled;
  }

  /** The open did not happen: the intent failed and a session it was replacing is active again. */
  async failed(intent: Session, reason: string): Promise<boolean> {
    return this.sessions.underKeyLock(intent.apiKeyId, async (rows) => {
      const failed = await rows.transition(intent.id, 'failed', 'settle', { set: { failureReason: reason.slice(0, 500) } });
      if (!failed) return false;
      const replacing = (await rows.held(intent.apiKeyId)).find((row) => row.status === 'replacing');
      if (replacing) await rows.transition(replacing.id, 'active', 'settle', { from: ['replacing'] });
      return true;
    });
  }
}

/** What the record step writes; the node's BidID and model fill in what the intent did not know. */
function openedValues(facts: OnChainFacts): QueryDeepPartialEntity<Session> {
  return {
    chainSessionId: facts.chainSessionId,
    provider: facts.provider,
    openedAt: facts.openedAt ?? new Date(),
    expiresAt: facts.expiresAt,
    failureReason: null,
    ...(facts.bidId ? { bidId: facts.bidId } : {}),
    ...(facts.modelId ? { modelId: facts.modelId } : {}),
  };
}
