import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource, EntityManager } from 'typeorm';
import { isUniqueViolation } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiKey } from './api-key.entity';
import { generateApiKey, hashApiKey } from './api-key.format';
import { ApiKeyLimitError, ApiKeyNotFoundError, ApiKeyRevokedError } from './errors';
import { API_KEY_REVOKED, ApiKeyRevokedEvent } from './events';
import { User } from './user.entity';

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The whole key: returned once, never stored. */
  key: string;
}

/** A user's default key as the hot read path needs it. */
export interface DefaultKeyRef {
  id: string;
  userId: string;
  keyPrefix: string;
}

/** How long a default-key answer is reused: this instance's key writes forget it at once. */
const DEFAULT_KEY_TTL_MS = 1_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Key management, always scoped to one user. */
@Injectable()
export class ApiKeyService {
  /** userId → the default key (lru-cache's fetch: concurrent misses share one read), for {@link findDefaultCached}. */
  private readonly defaults = new LRUCache<string, { key: DefaultKeyRef | null }>({
    max: 50_000,
    ttl: DEFAULT_KEY_TTL_MS,
    fetchMethod: async (userId) => {
      const key = await this.findDefault(userId);
      return { key: key ? { id: key.id, userId: key.userId, keyPrefix: key.keyPrefix } : null };
    },
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: EventEmitter2,
  ) {}

  async create(userId: string, name?: string): Promise<CreatedApiKey> {
    // A prefix collision (1 in 62^8 per pair) is retried with a new key rather than failed.
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await this.dataSource.transaction((manager) => this.insertKey(manager, userId, name));
        this.defaults.delete(userId); // the first key becomes the default
        return created;
      } catch (error) {
        if (attempt >= 3 || !isUniqueViolation(error, 'uq_api_keys_key_prefix')) throw error;
      }
    }
  }

  private async insertKey(manager: EntityManager, userId: string, name?: string): Promise<CreatedApiKey> {
    // The user row lock serialises key changes per user: the limit and "first key is
    // default" are decided on a stable count.
    await lockUser(manager, userId);
    const repo = manager.getRepository(ApiKey);
    const active = await repo.countBy({ userId, isActive: true });
    if (active >= this.config.apiKeys.maxPerUser) throw new ApiKeyLimitError(this.config.apiKeys.maxPerUser);
    const hasDefault = await repo.existsBy({ userId, isDefault: true });
    const { key, prefix } = generateApiKey();
    const apiKey = await repo.save(
      repo.create({
        userId,
        name: name ?? null,
        keyPrefix: prefix,
        keyHash: hashApiKey(key, this.config.apiKeys.pepper),
        isDefault: !hasDefault,
        isActive: true,
      }),
    );
    return { apiKey: withoutHash(apiKey), key };
  }

  list(userId: string): Promise<ApiKey[]> {
    return this.dataSource.getRepository(ApiKey).find({ where: { userId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** The key a user token acts on in session routes, if the user has one. */
  findDefault(userId: string): Promise<ApiKey | null> {
    return this.dataSource.getRepository(ApiKey).findOneBy({ userId, isDefault: true, isActive: true });
  }

  /**
   * {@link findDefault} for the hot read (`GET /api/v1/session` with a user token): one read
   * per user per second, shared by the requests that arrive meanwhile. This instance's key
   * writes forget the answer at once; other instances' show within 1 s — the bound the
   * session read already has.
   */
  async findDefaultCached(userId: string): Promise<DefaultKeyRef | null> {
    return (await this.defaults.fetch(userId))!.key;
  }

  async setDefault(userId: string, keyId: string): Promise<ApiKey> {
    const key = await this.dataSource.transaction(async (manager) => {
      await lockUser(manager, userId);
      const key = await findOwnKey(manager, userId, keyId);
      if (!key.isActive) throw new ApiKeyRevokedError();
      if (key.isDefault) return key;
      const repo = manager.getRepository(ApiKey);
      await repo.update({ userId, isDefault: true }, { isDefault: false });
      await repo.update({ id: key.id }, { isDefault: true });
      return { ...key, isDefault: true };
    });
    this.defaults.delete(userId);
    return key;
  }

  /** Revokes a key; if it was the default, the newest remaining active key becomes default. */
  async revoke(userId: string, keyId: string): Promise<ApiKey> {
    const revoked = await this.dataSource.transaction(async (manager) => {
      await lockUser(manager, userId);
      const key = await findOwnKey(manager, userId, keyId);
      if (!key.isActive) throw new ApiKeyNotFoundError();
      const repo = manager.getRepository(ApiKey);
      await repo.update({ id: key.id }, { isActive: false, isDefault: false, revokedAt: () => 'now()' });
      if (key.isDefault) await promoteNewestKey(manager, userId);
      return { ...key, isActive: false, isDefault: false };
    });
    this.defaults.delete(userId);
    // Published after commit: listeners must never see a revocation that rolled back.
    const event: ApiKeyRevokedEvent = { apiKeyId: revoked.id, userId, keyPrefix: revoked.keyPrefix };
    this.events.emit(API_KEY_REVOKED, event);
    return revoked;
  }

  /** For the CLI, which names keys by id alone. */
  async revokeById(keyId: string): Promise<ApiKey> {
    const key = UUID.test(keyId) ? await this.dataSource.getRepository(ApiKey).findOneBy({ id: keyId }) : null;
    if (!key) throw new ApiKeyNotFoundError();
    return this.revoke(key.userId, key.id);
  }
}

async function lockUser(manager: EntityManager, userId: string): Promise<void> {
  await manager.getRepository(User).findOne({ where: { id: userId }, lock: { mode: 'pessimistic_write' } });
}

/** Another user's key and an unknown id answer alike: 404, nothing learned. */
async function findOwnKey(manager: EntityManager, userId: string, keyId: string): Promise<ApiKey> {
  const key = UUID.test(keyId) ? await manager.getRepository(ApiKey).findOneBy({ id: keyId, userId }) : null;
  if (!key) throw new ApiKeyNotFoundError();
  return key;
}

async function promoteNewestKey(manager: EntityManager, userId: string): Promise<void> {
  const newest = await manager
    .getRepository(ApiKey)
    .findOne({ where: { userId, isActive: true }, order: { createdAt: 'DESC', id: 'DESC' } });
  if (newest) await manager.getRepository(ApiKey).update({ id: newest.id }, { isDefault: true });
}

function withoutHash(apiKey: ApiKey): ApiKey {
  const { keyHash: _hash, ...rest } = apiKey;
  return rest as ApiKey;
}
