import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/database/data-source-options';
import { ENTITIES } from './src/entities';

/**
 * The TypeORM CLI's data source (`npm run migration:run`): the same entities and
 * migrations as the app. It needs DATABASE_URL; the embedded database migrates itself
 * each time the gateway starts.
 */
const config = loadConfig();
if (!config.database.url) {
  throw new Error('DATABASE_URL is not set: the TypeORM CLI needs PostgreSQL (the embedded database migrates itself at start)');
}

export default new DataSource(dataSourceOptions(config.database.url, 2, ENTITIES));
