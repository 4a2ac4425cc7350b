import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { failureLogFields } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DatabaseEndpoint } from '../database/database-endpoint';
import { DedicatedConnection } from '../database/dedicated-connection';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { OnChainSession } from '../proxy-router/node.types';
import { SEND_SKEW_S, sentSince } from './adoption-rule';
import { factsOf } from './on-chain-facts';
import { Session } from './session.entity';
import { SessionCloser } from './session-closer';
import { SessionEvents } from './session-events';
import { TRACKED, USABLE } from './session-lifecycle';
import { SessionReconciler } from './session-reconciler';
import { SessionRepository } from './session.repository';

export interface SweepReport {
  ran: boolean;
  adopted: number;
  failed: number;
  expired: number;
  closed: number;
  unmatchedWalletSessions: number;
}

/**
 * Background reconciliation (docs/API.md §5 "Background"), on one instance at a time: stale
 * `opening` intents, sessions past `EndsAt` (closed on chain at or after it), sessions the
 * node reports closed, failed closes retried, sessions of revoked keys closed. A node that
 * cannot be reached changes nothing: unknown is never read as closed.
 */
@Injectable()
export class SessionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionSweeper.name);
  private timer?: NodeJS.Timeout;
  private current?: Promise<SweepReport>;
  private leaderConnection?: DedicatedConnection;
  private leading = false;
  private stopped = false;
  /** Open wallet sessions no row knows of, as of the last sweep (a metric). */
  unmatchedWalletSessions = 0;
  /**
   * Rows by status as of this instance's last sweep tick (a metric): counted here, not at each
   * scrape, so that unauthenticated `/metrics` scrapes never reach the database (docs/API.md §8).
   */
  sessionCounts: Record<string, number> = {};

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly endpoint: DatabaseEndpoint,
    private readonly adapter: NodeAdapter,
    private readonly sessions: SessionRepository,
    private readonly reconciler: SessionReconciler,
    private readonly closer: SessionCloser,
    private readonly events: SessionEvents,
  ) {}

  onApplicationBootstrap(): void {
    // At start-up, then every interval; a sweep never overlaps the previous one.
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sweep().finally(() => this.schedule(this.config.sessions.sweepIntervalS * 1000));
    }, delayMs);
    this.timer.unref();
  }

  /** One sweep (tests call it directly); concurrent calls share the running one. */
  sweep(): Promise<SweepReport> {
    this.current ??= this.tick().finally(() => (this.current = undefined));
    return this.current;
  }

  /** Every instance counts its sessions gauge on every tick; only the leader sweeps. */
  private async tick(): Promise<SweepReport> {
    const report = await this.sweepOnce();
    await this.countSessions();
    return report;
  }

  private async countSessions(): Promise<void> {
    try {
      this.sessionCounts = await this.sessions.countByStatus();
    } catch (error) {
      // The gauge keeps its last counts; the next tick tries again.
      this.logger.warn(failureLogFields(error), 'sweep: could not count the sessions for the metrics');
    }
  }

  private async sweepOnce(): Promise<SweepReport> {
    const report: SweepReport = { ran: false, adopted: 0, failed: 0, expired: 0, closed: 0, unmatchedWalletSessions: 0 };
    try {
      if (!this.config.proxyRouter.url || !(await this.isLeader())) return report;
      report.ran = true;
      await this.expirePastEndsAt(report);
      const stale = (await this.sessions.openingIntents()).filter((intent) => this.reconciler.openTimeIsUp(intent));
      const tracked = await this.sessions.withChainId(TRACKED);
      const openedSince = this.horizon(stale, tracked);
      const wallet = await this.adapter.walletSessions({ openedSince }).catch((error: unknown) => {
        this.logger.warn(failureLogFields(error), 'sweep: the node cannot be reached; nothing changes');
        return undefined;
      });
      if (!wallet) return report;
      await this.reconcileIntents(stale, wallet, report);
      await this.settleClosedByNode(tracked, wallet, report);
      await this.closePending(report);
      await this.countUnmatched(wallet, openedSince, report);
    } catch (error) {
      this.logger.error({ ...failureLogFields(error), err: error }, 'sweep failed');
    }
    return report;
  }

  /**
   * How far back this sweep reads the wallet (unix seconds; the listing grows with every
   * session ever opened): the oldest send of a stale intent, the oldest session it follows,
   * and for orphans the longest session the gateway opens (older ones have ended).
   */
  private horizon(stale: Session[], tracked: Session[]): number {
    const nowS = Math.floor(Date.now() / 1000);
    const since = [nowS - this.config.sessions.maxDurationS - SEND_SKEW_S];
    for (const intent of stale) since.push(sentSince(intent) ?? nowS);
    for (const row of tracked) since.push(Math.floor((row.openedAt ?? row.createdAt).getTime() / 1000) - SEND_SKEW_S);
    return Math.min(...since);
  }

  /** On PostgreSQL a session-level advisory lock elects one sweeper; the embedded database has one process. */
  private async isLeader(): Promise<boolean> {
    if (this.endpoint.isEmbedded) return true;
    this.leaderConnection ??= new DedicatedConnection(this.endpoint.url, 'sweeper-leader');
    if (this.leading && this.leaderConnection.connected) return true;
    this.leading = await this.sessions.tryLeadSweeps(this.leaderConnection);
    return this.leading;
  }

  private async reconcileIntents(stale: Session[], wallet: OnChainSession[], report: SweepReport): Promise<void> {
    for (const intent of stale) {
      const result = await this.reconciler.reconcile(intent, wallet);
      if (result === 'adopted') report.adopted++;
      if (result === 'failed') report.failed++;
    }
  }

  /** Marks sessions past EndsAt expired, then closes on chain those still open (a close at or after EndsAt refunds). */
  private async expirePastEndsAt(report: SweepReport): Promise<void> {
    const now = Date.now();
    for (const row of await this.sessions.withChainId(USABLE)) {
      if (!row.expiresAt || row.expiresAt.getTime() > now) continue;
      if (await this.sessions.transition(row.id, 'expired', 'expire', { from: USABLE, reason: 'expired' })) {
        report.expired++;
        await this.events.emit('session.expired', row);
      }
    }
  }

  private async settleClosedByNode(tracked: Session[], wallet: OnChainSession[], report: SweepReport): Promise<void> {
    const byId = new Map(wallet.map((s) => [s.id, s]));
    for (const row of tracked) {
      const onChain = byId.get(row.chainSessionId!);
      if (onChain && !row.expiresAt) await this.backfill(row, onChain);
      if (!onChain || onChain.closedAt === 0n || row.closedAt) continue;
      const to = row.status === 'expired' ? 'expired' : 'closed';
      // A row already closing (replaced, dead) or expired keeps the reason it has.
      const moved = await this.sessions.transition(row.id, to, 'sweep', {
        from: [row.status],
        set: { closedAt: new Date() },
        reason: 'closed_by_node',
      });
      if (moved) {
        report.closed++;
        if (to === 'closed') await this.events.emit('session.closed', moved);
      }
    }
  }

  /** A session recorded while the node could not report it yet gets its BidID, Provider and EndsAt now. */
  private async backfill(row: Session, onChain: OnChainSession): Promise<void> {
    const facts = factsOf(onChain.id, onChain);
    await this.sessions.fillFacts(row.id, {
      expiresAt: facts.expiresAt,
      provider: row.provider ?? facts.provider,
      bidId: row.bidId ?? facts.bidId,
    });
  }

  /** Replaced/dead sessions whose close failed, expired ones still open, and sessions of revoked keys. */
  private async closePending(report: SweepReport): Promise<void> {
    // Closing and expired rows already say why (replaced, dead, expired).
    for (const row of await this.sessions.withChainId(['closing'])) {
      if (await this.closer.closeQuietly(row, ['closing'], row.closeReason)) report.closed++;
    }
    for (const row of await this.sessions.withChainId(['expired'])) {
      if (row.closedAt) continue;
      if (await this.closer.closeQuietly(row, ['expired'], 'expired')) report.closed++;
    }
    for (const { row, reason } of await this.sessions.ofUnusableKeys()) {
      if (await this.closer.closeQuietly(row, USABLE, reason)) report.closed++;
    }
  }

  /** Open wallet sessions (within the horizon) that no row owns: orphans (rule 6). */
  private async countUnmatched(wallet: OnChainSession[], openedSince: number, report: SweepReport): Promise<void> {
    const open = wallet.filter((s) => s.closedAt === 0n && s.openedAt >= openedSince);
    const owned = await this.sessions.ownedChainIds(open.map((s) => s.id));
    this.unmatchedWalletSessions = report.unmatchedWalletSessions = open.filter((s) => !owned.has(s.id)).length;
  }

  /** Before the pools close: the running sweep finishes on a working database. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
    await this.leaderConnection?.close();
  }
}
