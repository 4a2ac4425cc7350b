import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull, Not } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { displayPrefix } from '../auth/principal';
import type { DedicatedConnection } from '../database/dedicated-connection';
import { Session } from './session.entity';
import { allowedFrom, CloseReason, HELD, Mover, SessionStatus, USABLE } from './session-lifecycle';
import { SessionTarget } from './session-target';

export interface OnChainFacts {
  chainSessionId: string;
  bidId: string | null;
  provider: string | null;
  modelId: string | null;
  openedAt: Date | null;
  expiresAt: Date | null;
}

type Values = QueryDeepPartialEntity<Session>;

/** Arbitrary constant: the advisory lock whose holder is the one instance that sweeps. */
const SWEEPER_LOCK_KEY = 727_003;

/** Counts writes: read caches keyed on it are never stale for this instance's own writes. */
class WriteCounter {
  count = 0;
}

/**
 * Every query of the session module, on one EntityManager: the pool's (SessionRepository)
 * or a transaction's (what `underKeyLock` hands its work). Rows that a query wrote come
 * back from that query (RETURNING).
 */
export class SessionRows {
  constructor(
    protected readonly manager: EntityManager,
    protected readonly writes: WriteCounter,
  ) {}

  /**
   * Why the key may no longer act (revoked, its user deactivated), or null while it may. Read
   * under the key's lock, it holds until the transaction ends: a revoke takes the same row lock.
   */
  async keyStopped(apiKeyId: string): Promise<'revoked' | 'user_deactivated' | null> {
    const rows = await this.manager.query<{ key_active: boolean; user_active: boolean }[]>(
      'SELECT k.is_active AS key_active, u.is_active AS user_active FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1',
      [apiKeyId],
    );
    return stoppedBy(rows[0]);
  }

  held(apiKeyId: string): Promise<Session[]> {
    return this.manager.find(Session, { where: { apiKeyId, status: In([...HELD]) }, order: { createdAt: 'ASC' } });
  }

  findById(id: string): Promise<Session | null> {
    return this.manager.findOneBy(Session, { id });
  }

  async insertOpening(apiKey: { id: string; userId: string }, target: SessionTarget): Promise<Session> {
    const values: Values = {
      apiKeyId: apiKey.id,
      userId: apiKey.userId,
      kind: target.kind,
      modelId: target.modelId,
      bidId: target.kind === 'bid' ? target.bidId : null,
      status: 'opening',
      sessionDuration: target.sessionDuration,
      directPayment: target.kind === 'model' && target.directPayment,
      failover: target.kind === 'model' && target.failover,
      openRequestedAt: new Date(),
    };
    const result = await this.manager.createQueryBuilder().insert().into(Session).values(values).returning('*').execute();
    this.writes.count++;
    return this.entityOf((result.raw as Record<string, unknown>[])[0]);
  }

  /**
   * The one way a status changes: only a move of the lifecycle table (`by` may move the
   * row to `to` from its current status, narrowed to `from`), and only if the row is still
   * in such a status, so concurrent movers (request, sweeper, another instance) agree.
   * Returns the row as written, or null when it had moved on. `reason` is the close reason,
   * written in the same UPDATE only where none is recorded yet: the first move towards
   * closed says why (a replaced row's later close stays `replaced`).
   */
  async transition(
    id: string,
    to: SessionStatus,
    by: Mover,
    options: { from?: readonly SessionStatus[]; set?: Values; reason?: CloseReason | null } = {},
  ): Promise<Session | null> {
    const from = allowedFrom(to, by, options.from);
    const reason = options.reason ? { closeReason: () => 'COALESCE(close_reason, :closeReason)' } : {};
    const result = await this.manager
      .createQueryBuilder()
      .update(Session)
      .set({ ...options.set, ...reason, status: to })
      .where('id = :id AND status IN (:...from)', { id, from, ...(options.reason ? { closeReason: options.reason } : {}) })
      .returning('*')
      .execute();
    this.writes.count++;
    const [raw] = result.raw as Record<string, unknown>[];
    return raw ? this.entityOf(raw) : null;
  }

  /** Rule 6's proof, stored just before the send; false when the intent is no longer opening. */
  async recordSent(id: string, walletNewestBeforeSend: string | null): Promise<boolean> {
    const result = await this.manager.update(Session, { id, status: 'opening' }, { openSentAt: new Date(), walletNewestBeforeSend });
    this.writes.count++;
    return (result.affected ?? 0) > 0;
  }

  /** What a sweep learnt of a session the node could not report when it was recorded. */
  async fillFacts(id: string, values: Pick<Values, 'expiresAt' | 'provider' | 'bidId'>): Promise<void> {
    await this.manager.update(Session, { id }, values);
    this.writes.count++;
  }

  /** Which of these chain ids some row already owns (reconciliation must not adopt them twice). */
  async ownedChainIds(chainIds: string[]): Promise<Set<string>> {
    if (!chainIds.length) return new Set();
    const rows = await this.manager.find(Session, { select: { chainSessionId: true }, where: { chainSessionId: In(chainIds) } });
    return new Set(rows.map((r) => r.chainSessionId!));
  }

  /** Every unsettled intent (there are few: one per key at most). */
  openingIntents(): Promise<Session[]> {
    return this.manager.find(Session, { where: { status: 'opening' }, order: { openRequestedAt: 'ASC' } });
  }

  /** Rows in these statuses that have a chain id. */
  withChainId(statuses: readonly SessionStatus[]): Promise<Session[]> {
    return this.manager.find(Session, {
      where: { status: In([...statuses]), chainSessionId: Not(IsNull()) },
      order: { createdAt: 'ASC' },
    });
  }

  /** Usable sessions of keys that were revoked or whose user was deactivated, with which of the two. */
  async ofUnusableKeys(): Promise<{ row: Session; reason: 'revoked' | 'user_deactivated' }[]> {
    const { entities, raw } = await this.manager
      .createQueryBuilder(Session, 's')
      .innerJoin('api_keys', 'k', 'k.id = s.api_key_id')
      .innerJoin('users', 'u', 'u.id = s.user_id')
      .addSelect('k.is_active', 'key_active')
      .addSelect('u.is_active', 'user_active')
      .where('s.status IN (:...usable)', { usable: USABLE })
      .andWhere('(k.is_active = false OR u.is_active = false)')
      .getRawAndEntities<{ s_id: string; key_active: boolean; user_active: boolean }>();
    const flags = new Map(raw.map((r) => [r.s_id, r]));
    return entities.map((row) => ({ row, reason: stoppedBy(flags.get(row.id)) ?? 'revoked' }));
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows: { status: string; n: string }[] = await this.manager.query('SELECT status, count(*) AS n FROM sessions GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** The key's display prefix (`sk-…`), for events about rows whose key the caller does not hold. */
  async keyPrefixOf(apiKeyId: string): Promise<string> {
    const rows: { key_prefix: string }[] = await this.manager.query('SELECT key_prefix FROM api_keys WHERE id = $1', [apiKeyId]);
    return rows[0] ? displayPrefix(rows[0].key_prefix) : '';
  }

  /** A RETURNING row (column names) as the entity (property names); the driver already typed the values. */
  private entityOf(raw: Record<string, unknown>): Session {
    const row = new Session();
    for (const column of this.manager.connection.getMetadata(Session).columns) {
      column.setEntityValue(row, raw[column.databaseName]);
    }
    return row;
  }
}

/** A revoked key says `revoked`, even when its user was deactivated too. */
function stoppedBy(flags: { key_active: boolean; user_active: boolean } | undefined): 'revoked' | 'user_deactivated' | null {
  if (!flags || !flags.key_active) return 'revoked';
  return flags.user_active ? null : 'user_deactivated';
}

@Injectable()
export class SessionRepository extends SessionRows {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super(dataSource.manager, new WriteCounter());
  }

  /** Moves with every write through this repository, and once more after each transaction commits. */
  get generation(): number {
    return this.writes.count;
  }

  /**
   * Serialises every state change of one key's sessions (rule 1): `work` runs in a short
   * transaction holding the API key's row lock, never across a proxy-router call.
   */
  async underKeyLock<T>(apiKeyId: string, work: (rows: SessionRows) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        await manager.query('SELECT id FROM api_keys WHERE id = $1 FOR UPDATE', [apiKeyId]);
        return work(new SessionRows(manager, this.writes));
      });
    } finally {
      // After the commit: a cache filled while the transaction ran is not kept.
      this.writes.count++;
    }
  }

  /** Leader election: the sweeper's advisory lock, held by that dedicated connection's session for as long as it lives. */
  async tryLeadSweeps(connection: DedicatedConnection): Promise<boolean> {
    const rows = await connection.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SWEEPER_LOCK_KEY]);
    return rows[0]?.ok === true;
  }
}
