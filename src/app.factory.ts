import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpException } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import { MessagingStatus } from './messaging/messaging-status';
import { Metrics } from './metrics/metrics';
import { microserviceOptionsFor } from './messaging/microservice-options';
import { Logger } from 'nestjs-pino';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppModule, AppModuleOptions } from './app.module';
import { OidcIssuer } from './auth/oidc-issuer';
import { toApiError } from './common/api-error';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { RequestValidationError } from './common/errors';
import { requestIdFor } from './common/request-id';
import { notJsonIssue } from './common/validation/depth';
import { ApiValidationPipe } from './common/validation/api-validation.pipe';
import { AppConfig, loadConfig } from './config/app-config';
import { setupSwagger } from './swagger';

export interface CreateAppOptions extends AppModuleOptions {
  config?: AppConfig;
}

/**
 * JSON bodies: an empty one is "no body" (the route decides whether that is allowed);
 * malformed JSON is a 422 `json_invalid`, raised as our own error because Nest would
 * turn Fastify's into a bare 400.
 */
function registerJsonParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    void parseJson(request, body as string, (error, value) => {
      if (!error) return done(null, value);
      done(new RequestValidationError([notJsonIssue('body')]), undefined);
    });
  });
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers over the limit: 431,
 * a request that did not arrive in time: 408, unparseable: 400): answered in the shape of
 * docs/API.md §1 and the connection closed, as Fastify's default handler does.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify(toApiError(new HttpException('', status)).body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * Swagger UI may not be framed by another site (clickjacking a page that holds pasted
 * credentials); it loads nothing but its own assets, so the rest stays permissive.
 */
const DOCS_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'";

function isDocsPage(url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
}

/** Builds the HTTP application exactly as production runs it; tests call this too. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const config = options.config ?? loadConfig();
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    genReqId: requestIdFor,
    requestIdHeader: false,
    // Slow clients must not hold sockets: a socket silent before its headers are in is
    // cut after HTTP_HEADERS_TIMEOUT_MS, a whole request must arrive within
    // HTTP_REQUEST_TIMEOUT_MS, idle keep-alive sockets close after HTTP_KEEPALIVE_TIMEOUT_MS.
    // Never the whole exchange: an open legitimately takes minutes to answer.
    connectionTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    // Node checks header/request deadlines only this often (30 s by default): a trickle of
    // header bytes would otherwise hold a socket far past HTTP_HEADERS_TIMEOUT_MS.
    http: { connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.http.headersTimeoutMs / 2))) },
    // A malformed URL or an over-long parameter: Fastify's own answer would echo the URL.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toApiError(error);
      void reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff').status(status).send(body);
    },
    clientErrorHandler: answerClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
    bodyParser: false, // ours below: Nest's would reject an empty JSON body before the route decides
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(new ApiValidationPipe());
  const fastify = app.getHttpAdapter().getInstance();
  // Headers that trickle in (slowloris) are cut off sooner than a slow body.
  fastify.server.headersTimeout = Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs);
  registerJsonParser(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    // Headers are in: from here the request may wait minutes for the node without being idle-killed.
    request.raw.socket?.setTimeout(0);
    void reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    // On every answer, errors included: a body is never sniffed into HTML or script.
    void reply.header('x-content-type-options', 'nosniff');
    if (isDocsPage(request.url)) void reply.header('content-security-policy', DOCS_CSP);
    done(null, payload);
  });
  const { httpRequests } = app.get(Metrics);
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route's pattern, never the raw URL: label values must stay few.
    const route = request.routeOptions.url ?? 'unmatched';
    httpRequests.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  if (config.http.corsOrigins.length) {
    app.enableCors({ origin: config.http.corsOrigins, exposedHeaders: ['x-request-id', 'retry-after'] });
  }
  const issuer = app.get(OidcIssuer);
  const metadata = issuer.configured ? await issuer.metadata().catch(() => undefined) : undefined;
  setupSwagger(app, config, metadata);
  const microservice = app.connectMicroservice<MicroserviceOptions>(microserviceOptionsFor(config), { inheritAppConfig: true });
  const status = app.get(MessagingStatus);
  microservice.status.subscribe((state) => status.update(state));
  await app.init();
  await startMessaging(app, config);
  return app;
}

/**
 * The same process serves HTTP and messages. NATS may be down at start-up: its listener
 * keeps reconnecting in the background and HTTP never waits for it.
 */
async function startMessaging(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const listening = app.startAllMicroservices();
  if (!config.microservice.natsUrl) {
    await listening;
    return;
  }
  listening.catch((error: unknown) => app.get(Logger).error({ err: error }, 'NATS listener failed'));
}
