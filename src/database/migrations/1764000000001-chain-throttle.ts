import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Shared state of the on-chain write throttle: after a nonce rejection every instance
 * serialises its writes until `until` (sliding). One row, read at most once a second.
 */
export class ChainThrottle1764000000001 implements MigrationInterface {
  name = 'ChainThrottle1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_throttle (
        id smallint PRIMARY KEY CHECK (id = 1),
        until timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE chain_throttle`);
  }
}
