import { Inject, Injectable, Logger } from '@nestjs/common';
import { failureLogFields, isUniqueViolation } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { OnChainSession } from '../proxy-router/node.types';
import { factsOf } from './on-chain-facts';
import { Session } from './session.entity';
import { SessionCloser } from './session-closer';
import { SessionEvents } from './session-events';
import { SessionRepository } from './session.repository';

/** Chain timestamps and ours may disagree a little; an intent still claims sessions opened just before it. */
const CLOCK_SKEW_S = 60;

export type ReconcileResult = 'adopted' | 'failed' | 'pending';

/**
 * Rule 6: an open whose outcome is unknown is never re-sent. The node is asked instead:
 * the wallet's sessions for that model/bid, opened after the intent and owned by no other
 * row. The earliest match is adopted; with none once the open's time is up, the intent
 * failed (and a session it was replacing is the key's active one again).
 */
@Injectable()
export class SessionReconciler {
  private readonly logger = new Logger(SessionReconciler.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapter: NodeAdapter,
    private readonly sessions: SessionRepository,
    private readonly closer: SessionCloser,
    private readonly events: SessionEvents,
    private readonly metrics: Metrics,
  ) {}

  /** Settles one `opening` intent against the wallet's sessions (fetched once per sweep by callers). */
  async reconcile(intent: Session, wallet: OnChainSession[]): Promise<ReconcileResult> {
    const requestedS = Math.floor((intent.openRequestedAt ?? intent.createdAt).getTime() / 1000) - CLOCK_SKEW_S;
    const candidates = wallet
      .filter((s) => (intent.kind === 'model' ? s.modelId === intent.modelId : s.bidId === intent.bidId))
      .filter((s) => s.openedAt >= requestedS)
      .sort((a, b) => a.openedAt - b.openedAt);
    const owned = await this.sessions.ownedChainIds(candidates.map((c) => c.id));
    for (const candidate of candidates.filter((c) => !owned.has(c.id))) {
      const adopted = await this.adopt(intent, candidate);
      if (adopted !== undefined) return adopted ? 'adopted' : 'pending';
    }
    if (!this.openTimeIsUp(intent)) return 'pending';
    await this.failIntent(intent, 'the open did not reach the chain');
    return 'failed';
  }

  /**
   * An intent is failed once SESSION_OPEN_TIMEOUT_MS — the budget of one open on chain,
   * mining included — has passed without its session appearing, so no `opening` row
   * outlives that plus one sweep (rule 6). A session mined even later matches no intent:
   * it is left alone and counted (gateway_unmatched_wallet_sessions).
   */
  private openTimeIsUp(intent: Session): boolean {
    const requested = (intent.openRequestedAt ?? intent.createdAt).getTime();
    return Date.now() - requested >= this.config.proxyRouter.sessionOpenTimeoutMs;
  }

  /** true: adopted; false: the intent was settled meanwhile; undefined: someone owns it, try the next. */
  private async adopt(intent: Session, found: OnChainSession): Promise<boolean | undefined> {
    let replaced: Session | undefined;
    try {
      const settled = await this.sessions.transaction(async (manager) => {
        await this.sessions.lockApiKey(manager, intent.apiKeyId);
        const current = await this.sessions.findById(intent.id, manager);
        if (current?.status !== 'opening') return false;
        await this.sessions.recordOpened(manager, intent.id, factsOf(found.id, found));
        const held = await this.sessions.held(intent.apiKeyId, manager);
        replaced = held.find((row) => row.status === 'replacing');
        if (replaced) await this.sessions.setStatus(replaced.id, 'closing', manager);
        return true;
      });
      if (!settled) return false;
    } catch (error) {
      if (isUniqueViolation(error, 'uq_sessions_chain_session_id')) return undefined;
      throw error;
    }
    this.metrics.opens.inc({ outcome: 'adopted' });
    this.logger.log({ sessionId: found.id, intent: intent.id }, 'adopted a session whose open outcome was unknown');
    await this.events.emit('session.opened', { ...intent, chainSessionId: found.id });
    if (found.closedAt > 0n) {
      await this.sessions.transition(intent.id, ['active'], 'closed', { closedAt: new Date() });
    }
    if (replaced) await this.closer.closeQuietly(replaced, ['closing']);
    return true;
  }

  /** A definite failure: the intent is failed and a session it was replacing is active again. */
  async failIntent(intent: Session, reason: string): Promise<void> {
    await this.sessions.transaction(async (manager) => {
      await this.sessions.lockApiKey(manager, intent.apiKeyId);
      const moved = await this.sessions.transition(intent.id, ['opening'], 'failed', { failureReason: reason.slice(0, 500) }, manager);
      if (!moved) return;
      const held = await this.sessions.held(intent.apiKeyId, manager);
      const replaced = held.find((row) => row.status === 'replacing');
      if (replaced) await this.sessions.setStatus(replaced.id, 'active', manager);
    });
  }

  /** Right after an unknown outcome: adopt at once if the node already shows the session. */
  async reconcileSoon(intentId: string): Promise<void> {
    try {
      const intent = await this.sessions.findById(intentId);
      if (intent?.status !== 'opening') return;
      await this.reconcile(intent, await this.adapter.walletSessions());
    } catch (error) {
      this.logger.warn({ ...failureLogFields(error), intent: intentId }, 'immediate reconciliation failed; the sweeper will retry');
    }
  }
}
