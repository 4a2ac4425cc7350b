import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DedicatedConnection } from '../database/dedicated-connection';

/** Arbitrary constant: the advisory lock that serialises on-chain writes across instances. */
const WRITE_LOCK_KEY = 727_002;

/** The queries of the on-chain write throttle: its shared cooling-off window, and its cross-instance lock. */
@Injectable()
export class ChainThrottleRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The end of the cooling-off window (epoch ms; 0: never engaged). */
  async until(): Promise<number> {
    const rows: { until_ms: string }[] = await this.dataSource.query(
      `SELECT (extract(epoch FROM until) * 1000)::bigint AS until_ms FROM chain_throttle WHERE id = 1`,
    );
    return rows[0] ? Number(rows[0].until_ms) : 0;
  }

  /** Starts (or extends, never shortens) the window for every instance. */
  async extend(seconds: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO chain_throttle (id, until) VALUES (1, now() + make_interval(secs => $1))
       ON CONFLICT (id) DO UPDATE SET until = GREATEST(chain_throttle.until, EXCLUDED.until)`,
      [seconds],
    );
  }

  /** Waits for the write lock, held by that dedicated connection's session until released (or the connection is lost). */
  async lockWrites(connection: DedicatedConnection): Promise<void> {
    await connection.query('SELECT pg_advisory_lock($1)', [WRITE_LOCK_KEY]);
  }

  async unlockWrites(connection: DedicatedConnection): Promise<void> {
    await connection.query('SELECT pg_advisory_unlock($1)', [WRITE_LOCK_KEY]);
  }
}
