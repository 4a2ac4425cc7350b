import { Inject, Injectable, Logger } from '@nestjs/common';
import { failureLogFields, isUniqueViolation } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { isOutcomeUnknown } from '../proxy-router/errors';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { ChainWriteThrottle } from './chain-write-throttle';
import { OpenOutcomeUnknownError, SessionOpeningError } from './errors';
import { factsOf } from './on-chain-facts';
import { Session } from './session.entity';
import { SessionCloser } from './session-closer';
import { SessionEvents } from './session-events';
import { SessionReconciler } from './session-reconciler';
import { SessionRepository } from './session.repository';
import { rowTargetKey, SessionTarget, targetKey } from './session-target';

export interface KeyRef {
  id: string;
  userId: string;
  prefix: string;
}

export interface OpenOutcome {
  session: Session;
  reused: boolean;
  replacedSessionId: string | null;
}

type Claim =
  { kind: 'reuse'; session: Session } | { kind: 'wait'; intentId: string } | { kind: 'open'; intent: Session; replacing?: Session };

/**
 * The open protocol of docs/DESIGN.md "The open protocol": coalesce in-process → claim (short transaction) → open
 * (no transaction, no connection held) → record (short transaction). An open is sent at
 * most once; an unknown outcome is reconciled, never re-sent.
 */
@Injectable()
export class SessionOpener {
  private readonly logger = new Logger(SessionOpener.name);
  /** Rule 4 within one instance: one open per key at a time; same-target callers share it. */
  private readonly inflight = new Map<string, { target: string; outcome: Promise<OpenOutcome> }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapter: NodeAdapter,
    private readonly throttle: ChainWriteThrottle,
    private readonly sessions: SessionRepository,
    private readonly closer: SessionCloser,
    private readonly reconciler: SessionReconciler,
    private readonly events: SessionEvents,
    private readonly metrics: Metrics,
  ) {}

  /** Opens currently in flight on this instance (graceful shutdown waits for them). */
  get running(): Promise<unknown>[] {
    return [...this.inflight.values()].map((entry) => entry.outcome.catch(() => undefined));
  }

  async open(apiKey: KeyRef, target: SessionTarget): Promise<OpenOutcome> {
    const wanted = targetKey(target);
    for (let current = this.inflight.get(apiKey.id); current; current = this.inflight.get(apiKey.id)) {
      // Same target: the one open's outcome is everyone's — the same session, or the same error.
      if (current.target === wanted) {
        this.metrics.opens.inc({ outcome: 'coalesced' });
        return { ...(await current.outcome), reused: true, replacedSessionId: null };
      }
      await current.outcome.catch(() => undefined);
    }
    const outcome = this.claimAndOpen(apiKey, target);
    const entry = { target: wanted, outcome };
    this.inflight.set(apiKey.id, entry);
    try {
      return await outcome;
    } finally {
      if (this.inflight.get(apiKey.id) === entry) this.inflight.delete(apiKey.id);
    }
  }

  private async claimAndOpen(apiKey: KeyRef, target: SessionTarget): Promise<OpenOutcome> {
    for (;;) {
      const claim = await this.claim(apiKey, target);
      if (claim.kind === 'reuse') {
        this.metrics.opens.inc({ outcome: 'reused' });
        return { session: claim.session, reused: true, replacedSessionId: null };
      }
      if (claim.kind === 'open') return this.openClaimed(apiKey, target, claim.intent, claim.replacing);
      // Another instance (or a crashed process) is opening for this key: wait, then decide again.
      await this.waitWhileOpening(claim.intentId);
    }
  }

  /** Step 1, one short transaction under the key's row lock. */
  private claim(apiKey: KeyRef, target: SessionTarget): Promise<Claim> {
    return this.sessions
      .transaction(async (manager): Promise<Claim> => {
        await this.sessions.lockApiKey(manager, apiKey.id);
        const held = await this.sessions.held(apiKey.id, manager);
        const opening = held.find((row) => row.status === 'opening');
        if (opening) return { kind: 'wait', intentId: opening.id };
        const active = held.find((row) => row.status === 'active' || row.status === 'replacing');
        if (active && rowTargetKey(active) === targetKey(target) && this.hasTimeLeft(active)) {
          if (active.status === 'replacing') await this.sessions.setStatus(active.id, 'active', manager);
          return { kind: 'reuse', session: active };
        }
        // The old session stays usable (outside the unique index) until the new one is recorded.
        if (active) await this.sessions.setStatus(active.id, 'replacing', manager);
        const intent = await this.sessions.insertOpening(manager, apiKey, target);
        return { kind: 'open', intent, replacing: active };
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error, 'uq_sessions_live_per_key')) throw new SessionOpeningError();
        throw error;
      });
  }

  private hasTimeLeft(session: Session): boolean {
    if (!session.expiresAt) return true; // the node has not reported EndsAt yet: assume fresh
    return session.expiresAt.getTime() - Date.now() >= this.config.sessions.minDurationS * 1000;
  }

  private async waitWhileOpening(intentId: string): Promise<void> {
    const deadline = Date.now() + this.config.proxyRouter.sessionOpenTimeoutMs + 5_000;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 1_000)) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      const row = await this.sessions.findById(intentId);
      if (row?.status !== 'opening') return;
    }
    throw new SessionOpeningError();
  }

  /** Steps 2–4: the one call to the node, then the outcome recorded. */
  private async openClaimed(apiKey: KeyRef, target: SessionTarget, intent: Session, replacing?: Session): Promise<OpenOutcome> {
    let chainSessionId: string;
    try {
      chainSessionId = await this.throttle.write(() =>
        target.kind === 'model'
          ? this.adapter.openSessionByModel(target.modelId, {
              sessionDuration: target.sessionDuration,
              directPayment: target.directPayment,
              failover: target.failover,
            })
          : this.adapter.openSessionByBid(target.bidId, { sessionDuration: target.sessionDuration }),
      );
    } catch (error) {
      if (isOutcomeUnknown(error)) {
        this.metrics.opens.inc({ outcome: 'unknown' });
        void this.reconciler.reconcileSoon(intent.id);
        // Logged once, by the filter that answers the 504.
        throw new OpenOutcomeUnknownError(error).withLogFields({ intent: intent.id });
      }
      this.metrics.opens.inc({ outcome: 'failed' });
      await this.reconciler.failIntent(intent, error instanceof Error ? error.message : 'open failed');
      throw error;
    }
    this.metrics.opens.inc({ outcome: 'opened' });
    return this.record(apiKey, intent, chainSessionId, replacing);
  }

  private async record(apiKey: KeyRef, intent: Session, chainSessionId: string, replacing?: Session): Promise<OpenOutcome> {
    // Read back BidID, Provider and EndsAt; if the node cannot say yet, they stay null.
    const onChain = await this.adapter.getSession(chainSessionId).catch((error: unknown) => {
      this.logger.warn({ ...failureLogFields(error), sessionId: chainSessionId }, 'could not read the new session back');
      return null;
    });
    const facts = factsOf(chainSessionId, onChain);
    await this.sessions.transaction(async (manager) => {
      await this.sessions.lockApiKey(manager, apiKey.id);
      await this.sessions.recordOpened(manager, intent.id, facts);
      if (replacing) await this.sessions.setStatus(replacing.id, 'closing', manager);
    });
    // What the record step wrote, without reading it back.
    const session: Session = {
      ...intent,
      status: 'active',
      chainSessionId,
      provider: facts.provider,
      bidId: facts.bidId ?? intent.bidId,
      modelId: facts.modelId ?? intent.modelId,
      openedAt: facts.openedAt ?? new Date(),
      expiresAt: facts.expiresAt,
    };
    await this.events.emit('session.opened', session, apiKey.prefix);
    // Rule 3: the replaced session is closed on chain after the new one is recorded.
    if (replacing) await this.closer.closeQuietly(replacing, ['closing']);
    return { session, reused: false, replacedSessionId: replacing?.chainSessionId ?? null };
  }
}
