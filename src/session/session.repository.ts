import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull, LessThan, Not } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Session, SessionStatus } from './session.entity';
import { SessionTarget } from './session-target';

/** Statuses that hold a key's session: the one it uses and the one it is replacing. */
const HELD: SessionStatus[] = ['opening', 'active', 'replacing'];

export interface OnChainFacts {
  chainSessionId: string;
  bidId: string | null;
  provider: string | null;
  modelId: string | null;
  openedAt: Date | null;
  expiresAt: Date | null;
}

/** Every query of the session module. Methods take the caller's transaction where they must. */
@Injectable()
export class SessionRepository {
  /**
   * Bumped by every write through this repository: read caches keyed on it are never
   * stale for this instance's own writes (others' reach them within the caches' TTL).
   */
  generation = 0;

  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  /** A short transaction; the generation moves once it has committed, so caches never keep what it replaced. */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction(work);
    } finally {
      this.generation++;
    }
  }

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(Session);
  }

  /**
   * Serialises every state change of one key's sessions (rule 1): the claim and the record
   * steps take this lock in short transactions, never across a proxy-router call.
   */
  async lockApiKey(manager: EntityManager, apiKeyId: string): Promise<void> {
    await manager.query('SELECT id FROM api_keys WHERE id = $1 FOR UPDATE', [apiKeyId]);
  }

  held(apiKeyId: string, manager?: EntityManager): Promise<Session[]> {
    return this.repo(manager).find({ where: { apiKeyId, status: In(HELD) }, order: { createdAt: 'ASC' } });
  }

  findById(id: string, manager?: EntityManager): Promise<Session | null> {
    return this.repo(manager).findOneBy({ id });
  }

  async insertOpening(manager: EntityManager, apiKey: { id: string; userId: string }, target: SessionTarget): Promise<Session> {
    const repo = this.repo(manager);
    const intent = repo.create({
      apiKeyId: apiKey.id,
      userId: apiKey.userId,
      kind: target.kind,
      modelId: target.modelId,
      bidId: target.kind === 'bid' ? target.bidId : null,
      provider: null,
      chainSessionId: null,
      status: 'opening',
      sessionDuration: target.sessionDuration,
      directPayment: target.kind === 'model' && target.directPayment,
      failover: target.kind === 'model' && target.failover,
      openRequestedAt: new Date(),
      openedAt: null,
      expiresAt: null,
      closedAt: null,
      failureReason: null,
    });
    // One round trip: the generated id and timestamps come back with the INSERT (RETURNING).
    const { generatedMaps } = await repo.insert(intent);
    return Object.assign(intent, generatedMaps[0]);
  }

  async setStatus(id: string, status: SessionStatus, manager?: EntityManager, extra: Partial<Session> = {}): Promise<void> {
    await this.repo(manager).update({ id }, { ...extra, status });
    this.generation++;
  }

  /** Moves a row only if it is still in `from`: concurrent settlers (request, sweeper) agree. */
  async transition(
    id: string,
    from: SessionStatus[],
    to: SessionStatus,
    extra: Partial<Session> = {},
    manager?: EntityManager,
  ): Promise<boolean> {
    const result = await this.repo(manager).update({ id, status: In(from) }, { ...extra, status: to });
    this.generation++;
    return (result.affected ?? 0) > 0;
  }

  async recordOpened(manager: EntityManager, id: string, facts: OnChainFacts): Promise<void> {
    const values: QueryDeepPartialEntity<Session> = {
      status: 'active',
      chainSessionId: facts.chainSessionId,
      provider: facts.provider,
      openedAt: facts.openedAt ?? (() => 'now()'),
      expiresAt: facts.expiresAt,
      failureReason: null,
    };
    // The node's BidID/model fill in what the intent did not know (a model session's bid).
    if (facts.bidId) values.bidId = facts.bidId;
    if (facts.modelId) values.modelId = facts.modelId;
    await this.repo(manager).update({ id }, values);
  }

  /** Which of these chain ids some row already owns (reconciliation must not adopt them twice). */
  async ownedChainIds(chainIds: string[]): Promise<Set<string>> {
    if (!chainIds.length) return new Set();
    const rows = await this.repo().find({ select: { chainSessionId: true }, where: { chainSessionId: In(chainIds) } });
    return new Set(rows.map((r) => r.chainSessionId!));
  }

  openingOlderThan(cutoff: Date): Promise<Session[]> {
    return this.repo().find({ where: { status: 'opening', openRequestedAt: LessThan(cutoff) }, order: { openRequestedAt: 'ASC' } });
  }

  byStatus(statuses: SessionStatus[]): Promise<Session[]> {
    return this.repo().find({ where: { status: In(statuses), chainSessionId: Not(IsNull()) }, order: { createdAt: 'ASC' } });
  }

  /** Live sessions of keys that were revoked or whose user was deactivated. */
  async ofUnusableKeys(): Promise<Session[]> {
    return this.repo()
      .createQueryBuilder('s')
      .innerJoin('api_keys', 'k', 'k.id = s.api_key_id')
      .innerJoin('users', 'u', 'u.id = s.user_id')
      .where(`s.status IN ('active', 'replacing')`)
      .andWhere('(k.is_active = false OR u.is_active = false)')
      .getMany();
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows: { status: string; n: string }[] = await this.dataSource.query('SELECT status, count(*) AS n FROM sessions GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
