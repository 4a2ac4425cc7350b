import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, throwError } from 'rxjs';
import { ApiError, clientErrorStatusOf, toApiError, toRpcError } from './api-error';
import { DomainError, failureLogFields } from './errors';
import { responseErrorCodes } from './logging.module';

/**
 * Every HTTP failure leaves here in the shapes of docs/API.md §1. This is the one place a
 * request's failure is logged: a 5xx once, with its code and the request id (through the
 * request-scoped logger); an expected 4xx is not an error and only its code goes on the
 * request's access line. The caller only ever sees the mapped body — never a stack, SQL or
 * an upstream body.
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
    this.log(error, exception, { method: request.method, path: request.routeOptions?.url }, 'request failed');
    responseErrorCodes.set(reply.raw, error.code);
    if (error.status === 401) reply.header('WWW-Authenticate', 'Bearer');
    // Every refusal that knows when to retry (rate limits, a busy identity provider) says so, wherever it was raised.
    const retryAfterS = retryAfterOf(exception);
    if (retryAfterS !== undefined) reply.header('Retry-After', String(retryAfterS));
    void reply.status(error.status).send(error.body);
  }

  /** A message's failure: `{"status", "detail", "code"}`, what HTTP would have answered (docs/API.md §6). */
  private rpcError(exception: unknown): Observable<never> {
    this.log(toApiError(exception), exception, {}, 'message failed');
    return throwError(() => toRpcError(exception));
  }

  private log(error: ApiError, exception: unknown, where: Record<string, unknown>, message: string): void {
    if (error.status < 500) {
      // Our own 4xx are expected and only reach the access line; a foreign error with a 4xx
      // status (a client aborting its upload) is worth a debug line, never its stack.
      if (!(exception instanceof DomainError) && clientErrorStatusOf(exception)) {
        this.logger.debug({ ...where, code: error.code, reason: (exception as Error).message }, message);
      }
      return;
    }
    if (error.unexpected) this.logger.error({ ...where, code: error.code, err: exception }, message);
    else this.logger.warn({ ...where, ...failureLogFields(exception) }, message);
  }
}

function retryAfterOf(exception: unknown): number | undefined {
  if (!(exception instanceof DomainError)) return undefined;
  const { retryAfterS } = exception as { retryAfterS?: unknown };
  return typeof retryAfterS === 'number' ? retryAfterS : undefined;
}
