import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { ApiKeyService } from '../auth/api-key.service';
import { displayPrefix, Principal } from '../auth/principal';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ModelCatalog } from '../models/model-catalog';
import { NodeAdapter } from '../proxy-router/node.adapter';
import { NoActiveSessionError, NoApiKeyError, SessionOpeningError, UnknownBidError } from './errors';
import { Session } from './session.entity';
import { SessionCloser } from './session-closer';
import { SessionEvents } from './session-events';
import { isUsable, USABLE } from './session-lifecycle';
import { KeyRef, OpenOutcome, SessionOpener } from './session-opener';
import { SessionRepository } from './session.repository';
import { SessionTarget } from './session-target';

export interface ModelSessionRequest {
  model: string;
  sessionDuration: number;
  directPayment: boolean;
  failover: boolean;
}

export interface BidSessionRequest {
  bidId: string;
  sessionDuration: number;
}

export type PingOutcome =
  | { status: 'alive' | 'expired' | 'timeout' | 'busy'; session: Session }
  | { status: 'dead'; session: Session; reason: string }
  | { status: 'no_session' };

export type CurrentSession = { status: 'active' | 'opening'; session: Session; apiKeyPrefix: string };

const isPast = (date: Date | null | undefined): boolean => date != null && date.getTime() <= Date.now();

/** The use-cases of docs/API.md §5, for HTTP and messages alike. */
@Injectable()
export class SessionService {
  /**
   * Per key and repository generation: the answer of one read, shared by every request that
   * arrives while it runs (lru-cache's fetch), kept for a second. A write on this instance
   * moves the generation, so the next request reads afresh. `none`: the key has no session.
   */
  private readonly currentCache = new LRUCache<string, { answer?: CurrentSession }, KeyRef>({
    max: 50_000,
    ttl: 1_000,
    fetchMethod: async (_, __, { context }) => ({
      answer: await this.readCurrent(context).catch((error: unknown) => {
        if (!(error instanceof NoActiveSessionError)) throw error;
        return undefined;
      }),
    }),
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeyService,
    private readonly catalog: ModelCatalog,
    private readonly adapter: NodeAdapter,
    private readonly sessions: SessionRepository,
    private readonly opener: SessionOpener,
    private readonly closer: SessionCloser,
    private readonly events: SessionEvents,
  ) {}

  /**
   * The key a caller acts on: its own, or (user tokens) the user's default key — for reads
   * (`cached`), as of at most a second ago on another instance's changes.
   */
  async keyOf(principal: Principal, options: { cached?: boolean } = {}): Promise<KeyRef> {
    if (principal.apiKeyId && principal.apiKeyPrefix) {
      return { id: principal.apiKeyId, userId: principal.userId, prefix: principal.apiKeyPrefix };
    }
    const key = options.cached ? await this.keys.findDefaultCached(principal.userId) : await this.keys.findDefault(principal.userId);
    if (!key) throw new NoApiKeyError();
    return { id: key.id, userId: key.userId, prefix: displayPrefix(key.keyPrefix) };
  }

  async createForModel(principal: Principal, request: ModelSessionRequest): Promise<OpenOutcome & { apiKeyPrefix: string }> {
    const key = await this.keyOf(principal);
    // Resolved before anything is claimed: an unknown model never reaches the chain.
    const model = await this.catalog.resolve(request.model);
    const target: SessionTarget = { kind: 'model', modelId: model.id, ...pick(request) };
    return { ...(await this.opener.open(key, target)), apiKeyPrefix: key.prefix };
  }

  async createForBid(principal: Principal, request: BidSessionRequest): Promise<OpenOutcome & { apiKeyPrefix: string }> {
    const key = await this.keyOf(principal);
    const bid = await this.adapter.getBid(request.bidId);
    if (!bid || bid.deletedAt > 0) throw new UnknownBidError();
    const target: SessionTarget = { kind: 'bid', bidId: bid.id, modelId: bid.modelId, sessionDuration: request.sessionDuration };
    return { ...(await this.opener.open(key, target)), apiKeyPrefix: key.prefix };
  }

  /**
   * The session the key should use now; needs no proxy-router. The hottest read of the
   * gateway, so answers are cached per key for a second: this instance's writes bump the
   * repository's generation (a miss at once); other instances' writes show within 1 s.
   */
  async current(principal: Principal): Promise<CurrentSession> {
    const key = await this.keyOf(principal, { cached: true });
    const cacheKey = `${key.id}@${this.sessions.generation}`;
    let { answer } = (await this.currentCache.fetch(cacheKey, { context: key }))!;
    if (answer && isPast(answer.session.expiresAt)) {
      // Past its end: read again (readCurrent marks it expired), never answered from the cache.
      this.currentCache.delete(cacheKey);
      answer = (await this.currentCache.fetch(`${key.id}@${this.sessions.generation}`, { context: key }))!.answer;
    }
    if (!answer) throw new NoActiveSessionError();
    return answer;
  }

  private async readCurrent(key: KeyRef): Promise<CurrentSession> {
    const held = await this.sessions.held(key.id);
    const usable = held.find((row) => isUsable(row.status));
    if (usable && !(await this.expireIfPast(usable))) return { status: 'active', session: usable, apiKeyPrefix: key.prefix };
    const opening = held.find((row) => row.status === 'opening');
    if (opening) return { status: 'opening', session: opening, apiKeyPrefix: key.prefix };
    throw new NoActiveSessionError();
  }

  async ping(principal: Principal): Promise<PingOutcome> {
    const key = await this.keyOf(principal);
    const held = await this.sessions.held(key.id);
    const session = held.find((row) => isUsable(row.status));
    if (!session) {
      if (held.some((row) => row.status === 'opening')) throw new SessionOpeningError();
      return { status: 'no_session' };
    }
    if (await this.expireIfPast(session)) return { status: 'expired', session };
    const result = await this.adapter.ping(session.chainSessionId!, this.config.sessions.pingTimeoutMs);
    if (result.kind === 'alive' || result.kind === 'timeout' || result.kind === 'busy') return { status: result.kind, session };
    if (result.kind === 'expired') {
      await this.markExpired(session);
      return { status: 'expired', session };
    }
    // Dead: closed on chain where it still exists, then in the database (closing until then).
    if (await this.sessions.transition(session.id, 'closing', 'ping', { from: USABLE, reason: 'dead' })) {
      await this.events.emit('session.dead', session, key.prefix);
      await this.closer.closeQuietly(session, ['closing'], 'dead');
    }
    return { status: 'dead', session, reason: result.reason };
  }

  /** Closes the key's session on chain and in the database; a node failure leaves it active. */
  async close(principal: Principal): Promise<Session | null> {
    const key = await this.keyOf(principal);
    const held = await this.sessions.held(key.id);
    if (held.some((row) => row.status === 'opening')) throw new SessionOpeningError();
    const session = held.find((row) => row.status === 'active');
    if (!session) return null;
    await this.closer.close(session, ['active'], 'closed_by_client');
    return session;
  }

  /** Rule 7: past `EndsAt` a session is not active. The sweeper closes it on chain. */
  private async expireIfPast(session: Session): Promise<boolean> {
    if (!session.expiresAt || session.expiresAt.getTime() > Date.now()) return false;
    await this.markExpired(session);
    return true;
  }

  private async markExpired(session: Session): Promise<void> {
    if (await this.sessions.transition(session.id, 'expired', 'expire', { from: USABLE, reason: 'expired' })) {
      await this.events.emit('session.expired', session);
    }
  }
}

function pick(request: ModelSessionRequest) {
  return { sessionDuration: request.sessionDuration, directPayment: request.directPayment, failover: request.failover };
}
