import { DynamicModule, Global, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DatabaseEndpoint } from './database-endpoint';
import { dataSourceOptions, type Entities, runMigrations } from './data-source-options';

@Global()
@Module({})
class DatabaseEndpointModule {
  static forRoot(attachToRunning: boolean): DynamicModule {
    return {
      module: DatabaseEndpointModule,
      providers: [
        {
          provide: DatabaseEndpoint,
          inject: [APP_CONFIG, ModuleRef],
          useFactory: (config: AppConfig, moduleRef: ModuleRef) => new DatabaseEndpoint(config, moduleRef, { attachToRunning }).start(),
        },
      ],
      exports: [DatabaseEndpoint],
    };
  }
}

/** TypeORM on PostgreSQL (or the embedded PGlite server), migrated at start, never synchronized. */
@Module({})
export class DatabaseModule {
  /**
   * `entities`: every room's tables (src/entities.ts). `attachToRunning`: the CLI uses a
   * running gateway's embedded server instead of opening its files.
   */
  static forRoot(options: { entities: Entities; attachToRunning?: boolean }): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        DatabaseEndpointModule.forRoot(options.attachToRunning === true),
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG, DatabaseEndpoint],
          useFactory: (config: AppConfig, endpoint: DatabaseEndpoint) =>
            dataSourceOptions(endpoint.url, config.database.poolSize, options.entities),
          dataSourceFactory: async (dataSourceOptions) => {
            const dataSource = await new DataSource(dataSourceOptions!).initialize();
            await runMigrations(dataSource);
            return dataSource;
          },
        }),
      ],
    };
  }
}
