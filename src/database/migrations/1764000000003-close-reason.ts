import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why a session was closed (docs/API.md §5 "Close reasons"). Null for rows not closed, and
 * for rows closed before this column existed.
 */
export class CloseReason1764000000003 implements MigrationInterface {
  name = 'CloseReason1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN close_reason varchar(32)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN close_reason`);
  }
}
