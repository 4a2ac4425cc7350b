import { Inject, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { apiKeyPrefixOf, displayPrefix, hashApiKey, hashesMatch } from './api-key.format';
import { AuthenticationFailedError } from './errors';
import { API_KEY_REVOKED, ApiKeyRevokedEvent, USER_DEACTIVATED, UserDeactivatedEvent } from './events';
import { Principal } from './principal';

interface KeyRecord {
  id: string;
  userId: string;
  keyHash: string;
  usable: boolean;
  revoked: boolean;
}

/** A prefix that matches no row. */
const UNKNOWN = 'unknown' as const;

/** How long a verified key is trusted without the database: the cross-instance revocation bound. */
const CACHE_TTL_MS = 4_000;
/**
 * Unknown prefixes are remembered apart, longer and bounded: a caller repeating made-up keys
 * costs no query, and cannot push known keys out of their cache. Safe for that long because a
 * key's row is never deleted (revoking keeps it), so an unknown prefix only becomes known when a
 * key is created with it — a fresh random prefix nobody could have probed before.
 */
const UNKNOWN_TTL_MS = 60_000;
const UNKNOWN_MAX = 10_000;
const LAST_USED_EVERY_MS = 60_000;

/**
 * Verifies `sk-…` keys: prefix lookup, then a constant-time comparison of the whole key's
 * hash, and the key's and its user's state — on every request, from a short-lived cache.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly logger = new Logger(ApiKeyVerifier.name);
  /** Misses are single-flight (lru-cache's fetch): requests missing one prefix together share one query. */
  private readonly records = new LRUCache<string, KeyRecord | typeof UNKNOWN>({
    max: 50_000,
    ttl: CACHE_TTL_MS,
    fetchMethod: (prefix) => this.query(prefix),
  });
  private readonly unknownPrefixes = new LRUCache<string, true>({ max: UNKNOWN_MAX, ttl: UNKNOWN_TTL_MS });
  private readonly lastUsedWrites = new LRUCache<string, number>({ max: 50_000, ttl: LAST_USED_EVERY_MS });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async verify(key: string): Promise<Principal> {
    const prefix = apiKeyPrefixOf(key);
    if (!prefix) throw new AuthenticationFailedError('malformed', 'Invalid API key');
    const record = await this.lookup(prefix);
    // Hash even for unknown prefixes so the answer time says nothing about which exist.
    const presented = hashApiKey(key, this.config.apiKeys.pepper);
    if (record === UNKNOWN || !hashesMatch(record.keyHash, presented)) {
      throw new AuthenticationFailedError('unknown_key', 'Invalid API key');
    }
    if (record.revoked) throw new AuthenticationFailedError('revoked', 'Invalid API key');
    if (!record.usable) throw new AuthenticationFailedError('inactive_user', 'Invalid API key');
    this.stampLastUsed(record.id);
    return { userId: record.userId, scheme: 'api-key', apiKeyId: record.id, apiKeyPrefix: displayPrefix(prefix), scopes: [] };
  }

  private async lookup(prefix: string): Promise<KeyRecord | typeof UNKNOWN> {
    if (this.unknownPrefixes.has(prefix)) return UNKNOWN;
    const record = this.records.get(prefix) ?? (await this.records.fetch(prefix))!;
    if (record === UNKNOWN) {
      this.unknownPrefixes.set(prefix, true);
      this.records.delete(prefix);
    }
    return record;
  }

  private async query(prefix: string): Promise<KeyRecord | typeof UNKNOWN> {
    const rows: { id: string; user_id: string; key_hash: string; is_active: boolean; user_active: boolean }[] = await this.dataSource.query(
      `SELECT k.id, k.user_id, k.key_hash, k.is_active, u.is_active AS user_active
           FROM api_keys k JOIN users u ON u.id = k.user_id
          WHERE k.key_prefix = $1`,
      [prefix],
    );
    const row = rows[0];
    const record = row
      ? { id: row.id, userId: row.user_id, keyHash: row.key_hash, usable: row.user_active, revoked: !row.is_active }
      : UNKNOWN;
    return record;
  }

  /** `last_used_at` is written at most once a minute per key, never on every request. */
  private stampLastUsed(keyId: string): void {
    if (this.lastUsedWrites.has(keyId)) return;
    this.lastUsedWrites.set(keyId, Date.now());
    this.dataSource
      .query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [keyId],
      )
      .catch((error: unknown) => this.logger.warn({ err: error, keyId }, 'could not record last_used_at'));
  }

  /** This instance refuses a revoked key at once; others within the cache TTL. */
  @OnEvent(API_KEY_REVOKED)
  forgetKey(event: ApiKeyRevokedEvent): void {
    this.records.delete(event.keyPrefix);
  }

  @OnEvent(USER_DEACTIVATED)
  forgetUser(event: UserDeactivatedEvent): void {
    for (const [prefix, record] of this.records.entries()) {
      if (record !== UNKNOWN && record.userId === event.userId) this.records.delete(prefix);
    }
  }
}
