import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource } from 'typeorm';
import { NotFoundError } from '../common/errors';
import { USER_DEACTIVATED, UserDeactivatedEvent } from './events';
import { User } from './user.entity';

/** Issuer of users created by the CLI, without an identity provider. */
export const LOCAL_ISSUER = 'local';

interface UserState {
  id: string;
  isActive: boolean;
  email: string | null;
}

/**
 * Users are created on their first valid token. Identity lookups are cached for a few
 * seconds: a deactivation reaches every instance within that bound (docs/API.md §2: ≤ 5 s).
 */
@Injectable()
export class UserService {
  private readonly cache = new LRUCache<string, UserState>({ max: 10_000, ttl: 4_000 });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: EventEmitter2,
  ) {}

  async resolve(issuer: string, subject: string, email?: string): Promise<UserState> {
    const cacheKey = `${issuer}\n${subject}`;
    const cached = this.cache.get(cacheKey);
    if (cached && (email === undefined || cached.email === email)) return cached;
    const state = await this.upsert(issuer, subject, email);
    this.cache.set(cacheKey, state);
    return state;
  }

  private async upsert(issuer: string, subject: string, email?: string): Promise<UserState> {
    // Insert-if-absent, and refresh the email only when the token carries a new one.
    const rows: { id: string; is_active: boolean; email: string | null }[] = await this.dataSource.query(
      `INSERT INTO users (issuer, subject, email) VALUES ($1, $2, $3)
       ON CONFLICT ON CONSTRAINT uq_users_issuer_subject DO UPDATE
         SET email = COALESCE(EXCLUDED.email, users.email)
         WHERE EXCLUDED.email IS NOT NULL AND users.email IS DISTINCT FROM EXCLUDED.email
       RETURNING id, is_active, email`,
      [issuer, subject, email ?? null],
    );
    if (rows[0]) return { id: rows[0].id, isActive: rows[0].is_active, email: rows[0].email };
    const user = await this.dataSource.getRepository(User).findOneByOrFail({ issuer, subject });
    return { id: user.id, isActive: user.isActive, email: user.email };
  }

  async findById(id: string): Promise<User> {
    const user = await this.dataSource.getRepository(User).findOneBy({ id });
    if (!user) throw new NotFoundError('User not found');
    return user;
  }

  /** For the CLI: refuses the user's keys and tokens from now on (other instances within 5 s). */
  async deactivate(issuer: string, subject: string): Promise<User> {
    const repo = this.dataSource.getRepository(User);
    const user = await repo.findOneBy({ issuer, subject });
    if (!user) throw new NotFoundError(`No user '${subject}' for issuer '${issuer}'`);
    await repo.update({ id: user.id }, { isActive: false });
    this.cache.delete(`${issuer}\n${subject}`);
    const event: UserDeactivatedEvent = { userId: user.id };
    this.events.emit(USER_DEACTIVATED, event);
    return { ...user, isActive: false };
  }
}
