import { Inject, Injectable, Logger } from '@nestjs/common';
import { authenticationFailure } from '../auth/errors';
import { failureLogFields, isUniqueViolation } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { isOutcomeUnknown } from '../proxy-router/errors';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { OpenRateLimit } from '../rate-limit/open-limit';
import { ChainWriteThrottle } from './chain-write-throttle';
import { ClaimDecision, decideClaim } from './claim-decision';
import { OpenOutcomeUnknownError, SessionOpeningError } from './errors';
import { factsOf } from './on-chain-facts';
import { Session } from './session.entity';
import { SessionReconciler } from './session-reconciler';
import { SessionSettler } from './session-settler';
import { SessionRepository } from './session.repository';
import { SessionTarget, targetKey } from './session-target';

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

/** What the claim did: the decision, with the intent it inserted when it decided to open. */
type Claimed = Exclude<ClaimDecision, { kind: 'open' }> | { kind: 'open'; intent: Session };

/**
 * The open protocol of docs/DESIGN.md "The open protocol": coalesce in-process →
 * claim (short transaction) → proof and open (no transaction, no connection held) →
 * settle (short transaction). An open is sent at most once; an unknown outcome is
 * reconciled, never re-sent.
 */
@Injectable()
export class SessionOpener {
  private readonly logger = new Logger(SessionOpener.name);
  /** Rule 4 within one instance: one open per key at a time; same-target callers share it. */
  private readonly inflight = new Map<string, { target: string; outcome: Promise<OpenOutcome> }>();
  private newestRead?: Promise<string | null>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapter: NodeAdapter,
    private readonly throttle: ChainWriteThrottle,
    private readonly sessions: SessionRepository,
    private readonly settler: SessionSettler,
    private readonly reconciler: SessionReconciler,
    private readonly metrics: Metrics,
    private readonly openLimit: OpenRateLimit,
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
      if (claim.kind === 'open') return this.openClaimed(apiKey, target, claim.intent);
      // Another instance (or a crashed process) is opening for this key: wait, then decide again.
      await this.waitWhileOpening(claim.intentId);
    }
  }

  /** Step 1, one short transaction under the key's row lock: the decision, and what it writes. */
  private claim(apiKey: KeyRef, target: SessionTarget): Promise<Claimed> {
    return this.sessions
      .underKeyLock(apiKey.id, async (rows): Promise<Claimed> => {
        // Authenticated a moment ago, perhaps from a cache: the key's row lock makes it sure.
        if (await rows.keyStopped(apiKey.id)) throw authenticationFailure('revoked');
        const decision = decideClaim(await rows.held(apiKey.id), target, new Date(), this.config.sessions.minDurationS);
        if (decision.kind === 'wait') return decision;
        if (decision.kind === 'reuse') {
          const { session } = decision;
          if (session.status === 'replacing') await rows.transition(session.id, 'active', 'claim', { from: ['replacing'] });
          return decision;
        }
        // Only a decided open counts (docs/API.md §7): reuses and coalesced callers never get here.
        // Refused before anything is written: the transaction rolls back to nothing.
        await this.openLimit.consume(apiKey.id);
        // The old session stays usable (outside the unique index) until the new one is recorded.
        if (decision.replacing) await rows.transition(decision.replacing.id, 'replacing', 'claim', { from: ['active'] });
        return { kind: 'open', intent: await rows.insertOpening(apiKey, target) };
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error, 'uq_sessions_live_per_key')) throw new SessionOpeningError();
        throw error;
      });
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

  /** Steps 2–4: the one call to the node, then the outcome settled. */
  private async openClaimed(apiKey: KeyRef, target: SessionTarget, intent: Session): Promise<OpenOutcome> {
    let chainSessionId: string;
    try {
      chainSessionId = await this.throttle.write(async () => {
        await this.recordProof(intent);
        return this.send(target);
      });
    } catch (error) {
      if (isOutcomeUnknown(error)) {
        this.metrics.opens.inc({ outcome: 'unknown' });
        void this.reconciler.reconcileSoon(intent.id);
        // Logged once, by the filter that answers the 504.
        throw new OpenOutcomeUnknownError(error).withLogFields({ intent: intent.id });
      }
      this.metrics.opens.inc({ outcome: 'failed' });
      await this.settler.failed(intent, error instanceof Error ? error.message : 'open failed');
      throw error;
    }
    // Read back BidID, Provider and EndsAt; if the node cannot say yet, they stay null.
    const onChain = await this.adapter.getSession(chainSessionId).catch((error: unknown) => {
      this.logger.warn({ ...failureLogFields(error), sessionId: chainSessionId }, 'could not read the new session back');
      return null;
    });
    const settled = await this.settler.opened(intent, factsOf(chainSessionId, onChain), 'opened', apiKey.prefix);
    // Revoked (or its user deactivated) while the open was in flight: the settler closed it.
    if (settled?.keyStopped) throw authenticationFailure('revoked');
    if (settled) return { session: settled.session, reused: false, replacedSessionId: settled.replaced?.chainSessionId ?? null };
    // Settled meanwhile by a sweep that judged it stale: adopted (this very session), or failed (an orphan now).
    const row = await this.sessions.findById(intent.id);
    if (row?.status === 'active' && row.chainSessionId === chainSessionId) return { session: row, reused: false, replacedSessionId: null };
    throw new OpenOutcomeUnknownError();
  }

  /**
   * Rule 6's proof, taken just before the send: the wallet's newest session, stored on the
   * intent. If it cannot be read the open is not sent (the read's error is the answer, and
   * the intent fails): an open without the proof could only be reconciled by weaker rules,
   * and adopting the wrong session leaves the real one paid for and unused.
   */
  private async recordProof(intent: Session): Promise<void> {
    const newest = await this.newestWalletSession();
    // No longer opening: a reconciler gave up on it while the write queued. Nothing is sent.
    if (!(await this.sessions.recordSent(intent.id, newest))) throw new SessionOpeningError();
  }

  /**
   * Opens sent at about the same time share one read still in flight: it started before
   * each of their sends, so it proves for each of them (an older proof only admits more
   * candidates, which the ambiguity rule then weighs).
   */
  private newestWalletSession(): Promise<string | null> {
    this.newestRead ??= this.adapter
      .walletSessions({ limit: 1 })
      .then(([newest]) => newest?.id ?? null)
      .finally(() => (this.newestRead = undefined));
    return this.newestRead;
  }

  private send(target: SessionTarget): Promise<string> {
    return target.kind === 'model'
      ? this.adapter.openSessionByModel(target.modelId, {
          sessionDuration: target.sessionDuration,
          directPayment: target.directPayment,
          failover: target.failover,
        })
      : this.adapter.openSessionByBid(target.bidId, { sessionDuration: target.sessionDuration });
  }
}
