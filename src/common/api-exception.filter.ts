import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from './api-error';

/**
 * Every HTTP failure leaves here in the shapes of API.md §1. Unexpected failures are
 * logged once (with the request id, through the request-scoped logger); the caller only
 * ever sees the mapped detail — never a stack, SQL or an upstream body.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
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
}
