import { Inject, Injectable, Logger } from '@nestjs/common';
import { failureLogFields, isUniqueViolation } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { OnChainSession } from '../proxy-router/node.types';
import { couldHaveCreated, judgeAdoption, SEND_SKEW_S, sentSince } from './adoption-rule';
import { factsOf } from './on-chain-facts';
import { Session } from './session.entity';
import { SessionSettler } from './session-settler';
import { SessionRepository } from './session.repository';

export type ReconcileResult = 'adopted' | 'failed' | 'pending';

/**
 * Rule 6: an open whose outcome is unknown is never re-sent. The node is asked instead,
 * and only a session the open could have created is adopted, when that is unambiguous
 * (adoption-rule.ts). With none once the open's time is up, the intent fails (and a
 * session it was replacing is the key's active one again); a session mined later is an
 * orphan, counted by the sweeper.
 */
@Injectable()
export class SessionReconciler {
  private readonly logger = new Logger(SessionReconciler.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapter: NodeAdapter,
    private readonly sessions: SessionRepository,
    private readonly settler: SessionSettler,
  ) {}

  /** Settles one `opening` intent against a wallet listing (newest first, back at least to its send). */
  async reconcile(intent: Session, listing: OnChainSession[]): Promise<ReconcileResult> {
    const candidates = couldHaveCreated(intent, listing);
    const owned = await this.sessions.ownedChainIds(candidates.map((s) => s.id));
    // Rivals only matter for a candidate no row owns: without one the verdict is `none`, no query needed.
    const rivals = candidates.some((s) => !owned.has(s.id)) ? await this.sessions.openingIntents() : [];
    const verdict = judgeAdoption(intent, listing, owned, rivals);
    if (verdict.kind === 'adopt') return (await this.adopt(intent, verdict.session)) ? 'adopted' : 'pending';
    if (!this.openTimeIsUp(intent)) return 'pending';
    const reason =
      verdict.kind === 'none' ? 'the open did not reach the chain' : 'the session of this open cannot be told apart from another one';
    return (await this.settler.failed(intent, reason)) ? 'failed' : 'pending';
  }

  /**
   * SESSION_OPEN_TIMEOUT_MS is the budget of one open on chain, mining included, counted
   * from the send (from the claim for an intent never sent), so no `opening` row outlives
   * that plus one sweep (rule 6).
   */
  openTimeIsUp(intent: Session): boolean {
    const since = (intent.openSentAt ?? intent.openRequestedAt ?? intent.createdAt).getTime();
    return Date.now() - since >= this.config.proxyRouter.sessionOpenTimeoutMs;
  }

  /** Right after an unknown outcome: adopt at once if the node already shows the session. */
  async reconcileSoon(intentId: string): Promise<void> {
    try {
      const intent = await this.sessions.findById(intentId);
      if (intent?.status !== 'opening') return;
      const openedSince = sentSince(intent) ?? Math.floor(Date.now() / 1000) - SEND_SKEW_S;
      await this.reconcile(intent, await this.adapter.walletSessions({ openedSince }));
    } catch (error) {
      this.logger.warn({ ...failureLogFields(error), intent: intentId }, 'immediate reconciliation failed; the sweeper will retry');
    }
  }

  /** False when the intent was settled meanwhile, or another row took the session first. */
  private async adopt(intent: Session, found: OnChainSession): Promise<boolean> {
    try {
      if (!(await this.settler.opened(intent, factsOf(found.id, found), 'adopted'))) return false;
    } catch (error) {
      if (isUniqueViolation(error, 'uq_sessions_chain_session_id')) return false;
      throw error;
    }
    this.logger.log({ sessionId: found.id, intent: intent.id }, 'adopted a session whose open outcome was unknown');
    return true;
  }
}
