import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The proof an unknown-outcome open needs (docs/API.md §5 rule 6): when the open was sent,
 * and the newest session of the node's wallet just before it (null: the wallet had none).
 * A session listed above that one was absent from the wallet before the send; nothing else
 * may be adopted. `open_sent_at` null means the open was never sent.
 */
export class OpenProof1764000000002 implements MigrationInterface {
  name = 'OpenProof1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN open_sent_at timestamptz, ADD COLUMN wallet_newest_before_send varchar(66)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN wallet_newest_before_send, DROP COLUMN open_sent_at`);
  }
}
