import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, throwError } from 'rxjs';
import { toApiError } from './api-error';

/**
 * Every HTTP failure leaves here in the shapes of docs/API.md §1. Unexpected failures are
 * logged once (with the request id, through the request-scoped logger); the caller only
 * ever sees the mapped detail — never a stack, SQL or an upstream body.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> {
    if (host.getType() === 'rpc') return this.rpcError(exception);
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const error = toApiError(exception);
    if (error.unexpected) {
      this.logger.error({ err: exception, method: request.method, path: request.routeOptions?.url }, 'request failed');
    }
    if (error.status === 401) reply.header('WWW-Authenticate', 'Bearer');
    void reply.status(error.status).send(error.body);
  }

  /** A message's failure: `{"status", "detail"}`, exactly what HTTP would have answered (docs/API.md §6). */
  private rpcError(exception: unknown): Observable<never> {
    const error = toApiError(exception);
    if (error.unexpected) this.logger.error({ err: exception }, 'message failed');
    return throwError(() => ({ status: error.status, detail: error.body.detail }));
  }
}
