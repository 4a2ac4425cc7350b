import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/**
 * One PostgreSQL connection outside the request pool, for session-level advisory locks:
 * a lock holder (or a waiter) pins this connection only, never a pooled one. If the
 * connection drops, its locks are gone with it; the next call reconnects.
 */
export class DedicatedConnection {
  private readonly logger = new Logger(DedicatedConnection.name);
  private client?: Promise<Client>;

  constructor(
    private readonly url: string,
    private readonly name: string,
  ) {}

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connect();
    return (await client.query(sql, params)).rows as T[];
  }

  /** True while the connection that took earlier locks is still the same one. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  private connect(): Promise<Client> {
    this.client ??= (async () => {
      const client = new Client({ connectionString: this.url, application_name: `gateway-${this.name}` });
      client.on('error', (error) => {
        this.logger.warn({ err: error, connection: this.name }, 'dedicated connection lost');
        this.client = undefined;
      });
      client.on('end', () => {
        this.client = undefined;
      });
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.catch(() => undefined))?.end();
  }
}
