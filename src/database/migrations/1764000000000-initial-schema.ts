import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        issuer text NOT NULL,
        subject text NOT NULL,
        email text,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_users_issuer_subject UNIQUE (issuer, subject)
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(64),
        key_prefix varchar(8) NOT NULL,
        key_hash varchar(64) NOT NULL,
        is_default boolean NOT NULL DEFAULT false,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT uq_api_keys_key_prefix UNIQUE (key_prefix),
        CONSTRAINT ck_api_keys_default_is_active CHECK (NOT is_default OR is_active)
      )`);
    // At most one default key per user, whatever the code does.
    await q.query(`CREATE UNIQUE INDEX uq_api_keys_default_per_user ON api_keys (user_id) WHERE is_default`);
    await q.query(`CREATE INDEX ix_api_keys_user_created ON api_keys (user_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        api_key_id uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind varchar(8) NOT NULL CHECK (kind IN ('model', 'bid')),
        model_id varchar(66),
        bid_id varchar(66),
        provider varchar(42),
        chain_session_id varchar(66),
        status varchar(16) NOT NULL
          CHECK (status IN ('opening', 'active', 'replacing', 'closing', 'closed', 'expired', 'failed')),
        session_duration integer NOT NULL,
        direct_payment boolean NOT NULL DEFAULT false,
        failover boolean NOT NULL DEFAULT false,
        open_requested_at timestamptz,
        opened_at timestamptz,
        expires_at timestamptz,
        closed_at timestamptz,
        failure_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The invariant of the product: at most one live session per API key.
    await q.query(`CREATE UNIQUE INDEX uq_sessions_live_per_key ON sessions (api_key_id) WHERE status IN ('opening', 'active')`);
    await q.query(`CREATE UNIQUE INDEX uq_sessions_chain_session_id ON sessions (chain_session_id) WHERE chain_session_id IS NOT NULL`);
    // The sweeper scans only rows that may still need work.
    await q.query(`CREATE INDEX ix_sessions_unsettled ON sessions (status) WHERE status IN ('opening', 'active', 'replacing', 'closing')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sessions`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE users`);
  }
}
