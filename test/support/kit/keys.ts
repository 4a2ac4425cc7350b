import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ApiKeyService } from '../../../src/auth/api-key.service';
import { AuthCoreModule } from '../../../src/auth/auth.module';
import { LOCAL_ISSUER, UserService } from '../../../src/auth/user.service';
import { loadConfig } from '../../../src/config/app-config';
import { ConfigModule } from '../../../src/config/config.module';
import { DatabaseModule } from '../../../src/database/database.module';
import { ENTITIES } from '../../../src/entities';
import { bearer } from '../app';

/** Where keys are made: a gateway started in this process (a TestApp), or a keyStore(). */
export interface KeyMaker {
  app: INestApplicationContext;
}

/** A local user, who holds keys. */
export interface KeyHolder {
  userId: string;
  subject: string;
}

export interface TestKey {
  /** The api_keys row id. */
  id: string;
  userId: string;
  /** The whole key, `sk-<prefix>.<secret>`. */
  key: string;
  /** `sk-<prefix>`, as session answers show it. */
  prefix: string;
  /** `Bearer sk-…`, ready for an Authorization header. */
  auth: string;
}

let holders = 0;

/** A new local user (named `subject`, or a fresh name). */
export async function aKeyHolder(at: KeyMaker, subject = `key-holder-${process.pid}-${++holders}`): Promise<KeyHolder> {
  const user = await at.app.get(UserService).resolve(LOCAL_ISSUER, subject);
  return { userId: user.id, subject };
}

/** A new API key (named `name`, if given), of `holder` or of a new holder (so MAX_KEYS_PER_USER never matters). */
export async function aKey(at: KeyMaker, { holder, name }: { holder?: KeyHolder; name?: string } = {}): Promise<TestKey> {
  const owner = holder ?? (await aKeyHolder(at));
  const { apiKey, key } = await at.app.get(ApiKeyService).create(owner.userId, name);
  return { id: apiKey.id, userId: owner.userId, key, prefix: key.split('.')[0], auth: bearer(key) };
}

/** `count` keys, each of its own holder, made one after the other. */
export async function someKeys(at: KeyMaker, count: number): Promise<TestKey[]> {
  const made: TestKey[] = [];
  for (let i = 0; i < count; i++) made.push(await aKey(at));
  return made;
}

/**
 * Makes keys on a database whose gateways run as processes (or in a benchmark): the auth
 * module alone in a Nest context, as the CLI makes keys. Close it when done.
 */
export async function keyStore(databaseUrl: string): Promise<KeyMaker & { close(): Promise<void> }> {
  class KeyStoreModule {}
  const app = await NestFactory.createApplicationContext(
    {
      module: KeyStoreModule,
      imports: [
        ConfigModule.forRoot(loadConfig({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '2' })),
        EventEmitterModule.forRoot(),
        DatabaseModule.forRoot({ entities: ENTITIES, attachToRunning: true }),
        AuthCoreModule,
      ],
    },
    { logger: ['error', 'warn'] },
  );
  return { app, close: () => app.close() };
}

/** A key of the right shape (prefix and secret) that no gateway issued. */
export function aForgedApiKey(): string {
  const prefix = randomBytes(12)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8)
    .padEnd(8, 'x');
  return `sk-${prefix}.${randomBytes(32).toString('base64url')}`;
}
