import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';
import { requestIdFor } from './request-id';

export type LogSink = DestinationStream;

/**
 * Paths pino removes from every line. Credentials only ever travel in the Authorization
 * header, but any object that happens to carry one is covered too.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.key',
  '*.token',
  '*.access_token',
  '*.client_secret',
];

/** The path only: query strings are the caller's and could hold anything, even a key. */
function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0];
}

/** Structured logs (pino), one request id per request in every line of that request. */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig, sink?: LogSink): DynamicModule {
    const options = {
      level: config.logLevel,
      genReqId: (req: IncomingMessage) => requestIdFor(req),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: IncomingMessage & { id?: string }) => ({ id: req.id, method: req.method, path: pathOf(req.url) }),
        res: (res: ServerResponse) => ({ status: res.statusCode }),
      },
      customSuccessMessage: (req: IncomingMessage, res: ServerResponse) => `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
      customErrorMessage: (req: IncomingMessage, res: ServerResponse) => `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
      // Client errors are the caller's business; server errors are ours.
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    };
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: sink ? [options, sink] : options, exclude: [] })],
    };
  }
}
