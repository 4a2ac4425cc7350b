import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad environment stops the process with the variable's name, before anything starts.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const app = await createApp({ config });
  app.enableShutdownHooks();
  await app.listen(config.http.port, config.http.host);
  new Logger('Bootstrap').log(`Gateway listening on ${await app.getUrl()} (docs at /docs)`);
}

void bootstrap();
