import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, CreateAppOptions } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { testIssuer } from './oidc';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  /** Every log line the app wrote, raw, for checks that no secret is logged. */
  logs(): string;
  close(): Promise<void>;
}

/** The dev issuer of the e2e run as the gateway's identity provider. */
export function oidcEnv(): Record<string, string> {
  const issuer = testIssuer();
  return {
    OIDC_ISSUER_URL: issuer.issuer,
    OIDC_CLIENT_ID: issuer.clientId,
    OIDC_CLIENT_SECRET: issuer.clientSecret,
    OIDC_SWAGGER_CLIENT_ID: issuer.swaggerClientId,
    OIDC_AUDIENCE: issuer.audience,
  };
}

/** Starts the real application (as production builds it) on a random loopback port. */
export async function startTestApp(
  env: Record<string, string | undefined>,
  options: Omit<CreateAppOptions, 'config' | 'logSink'> = {},
): Promise<TestApp> {
  const lines: string[] = [];
  const logSink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  // MICROSERVICE_PORT 0: many apps in one test process must not compete for the TCP port.
  const config = loadConfig({ LOG_LEVEL: 'debug', HOST: '127.0.0.1', PORT: '0', MICROSERVICE_PORT: '0', ...env });
  const app = await createApp({ ...options, config, logSink });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    logs: () => lines.join(''),
    close: () => app.close(),
  };
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small HTTP client for tests: real requests over the loopback socket. */
export function client(baseUrl: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    options: { auth?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== undefined) headers.authorization = options.auth;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    if (options.rawBody !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (HTML docs page): the raw text is the body
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
}

export const bearer = (token: string): string => `Bearer ${token}`;
