import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from './app.factory';
import { runningOpens } from './session/session.module';
import { assertServable, ConfigError, loadConfig } from './config/app-config';

/**
 * docs/API.md §8: stop accepting, give in-flight opens a bounded time to be recorded, then close
 * the pools. An open still running at the deadline stays `opening` for the reconciler.
 */
async function drainAndClose(app: NestFastifyApplication, graceMs: number): Promise<void> {
  const server = app.getHttpServer();
  server.close(); // no new connections; requests in flight go on
  server.closeIdleConnections();
  const opens = Promise.allSettled(runningOpens(app));
  await Promise.race([opens, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  server.closeAllConnections();
  await app.close();
}

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    assertServable(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad environment stops the process with the variable's name, before anything starts.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const app = await createApp({ config });
  const logger = new Logger('Bootstrap');
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // A second signal while closing means "now": the operator has stopped waiting.
    if (closing) process.exit(1);
    closing = true;
    logger.log(`${signal}: shutting down`);
    drainAndClose(app, config.shutdownGraceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await app.listen(config.http.port, config.http.host);
  logger.log(`Gateway listening on ${await app.getUrl()} (docs at /docs)`);
}

void bootstrap();
