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

/** The error code of a failed answer, set by the exception filter, for the request's access line. */
export const responseErrorCodes = new WeakMap<ServerResponse, string>();

/** The access line's fields: the status, and the error code of a failed answer. */
interface AccessFields {
  res?: unknown;
  responseTime?: unknown;
}

function accessFields(res: ServerResponse, fields: AccessFields): Record<string, unknown> {
  const code = responseErrorCodes.get(res);
  return { res: fields.res, responseTime: fields.responseTime, ...(code ? { code } : {}) };
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
      // The access line records every request; a failure's one error line is the exception
      // filter's (with its code), so a 5xx answer is not logged a second time here.
      customLogLevel: (_req: IncomingMessage, _res: ServerResponse, error?: Error) => (error ? 'error' : 'info'),
      customSuccessObject: (_req: IncomingMessage, res: ServerResponse, fields: AccessFields) => accessFields(res, fields),
      // pino-http attaches a made-up "failed with status code 5xx" error (and its stack) to a
      // 5xx answer: dropped; a real one (the connection failed) is kept.
      customErrorObject: (_req: IncomingMessage, res: ServerResponse, error: Error, fields: AccessFields & { err?: unknown }) =>
        error.message === `failed with status code ${res.statusCode}`
          ? accessFields(res, fields)
          : { ...accessFields(res, fields), err: fields.err },
    };
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: sink ? [options, sink] : options, exclude: [] })],
    };
  }
}
