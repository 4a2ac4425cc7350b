import { OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { EmbeddedDatabase } from './embedded-database';

/**
 * Where the database is: DATABASE_URL, or the embedded server this provider starts.
 * Extra socket connections beyond the pool are for the migration lock and the
 * dedicated advisory-lock connection of the session module.
 */
export class DatabaseEndpoint implements OnApplicationShutdown {
  private embedded?: EmbeddedDatabase;
  url: string;

  constructor(
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
    private readonly options: { attachToRunning?: boolean } = {},
  ) {}

  get isEmbedded(): boolean {
    return this.embedded !== undefined;
  }

  async start(): Promise<this> {
    const { url, dataDir, poolSize } = this.config.database;
    if (url) {
      this.url = url;
    } else {
      this.embedded = await EmbeddedDatabase.start(dataDir, poolSize + 4, { attach: this.options.attachToRunning });
      this.url = this.embedded.url;
    }
    return this;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    // Nest shuts this (deeper) module down before TypeORM's: close the pool first, or
    // its sockets would outlive the server under them. TypeORM skips a closed DataSource.
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
  }
}
