import { DataSource, DataSourceOptions } from 'typeorm';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema';
import { ChainThrottle1764000000001 } from './migrations/1764000000001-chain-throttle';
import { OpenProof1764000000002 } from './migrations/1764000000002-open-proof';
import { CloseReason1764000000003 } from './migrations/1764000000003-close-reason';

/** Listed explicitly (no globs) so ts-jest, ts sources and dist/ all load the same set. */
export const MIGRATIONS = [InitialSchema1764000000000, ChainThrottle1764000000001, OpenProof1764000000002, CloseReason1764000000003];

/** The rooms' entity classes (src/entities.ts composes them: this room knows none). */
export type Entities = NonNullable<DataSourceOptions['entities']>;

export function dataSourceOptions(url: string, poolSize: number, entities: Entities): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // The pool is sized by DB_POOL_SIZE; a request never waits long for a connection.
    extra: { max: poolSize, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 },
  };
}

/** Arbitrary constant: the advisory lock key under which instances run migrations. */
const MIGRATION_LOCK_KEY = 727_001;

/**
 * Runs pending migrations under an advisory lock, so several instances starting at once
 * on one PostgreSQL migrate once (on the embedded database the process is alone).
 */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    await runner.release();
  }
}
