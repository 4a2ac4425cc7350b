/**
 * `npm run openapi`: writes the OpenAPI document the app serves at /api/v1/openapi.json to
 * docs/openapi.json (or the path given). The app is built in Nest's preview mode — modules
 * and controllers scanned, no provider instantiated — so it needs no database, node or
 * identity provider, and nothing listens.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { loadConfig } from './config/app-config';
import { openApiDocument } from './swagger';

/**
 * A fixed environment, never the caller's: the committed document must not depend on who
 * generated it. The issuer is a placeholder so that all three security schemes are listed;
 * a running gateway serves its real issuer's endpoints instead.
 */
export const DOCUMENTED_ENV = { OIDC_ISSUER_URL: 'https://login.example.com' } as const;

export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig(DOCUMENTED_ENV);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return openApiDocument(app, config);
  } finally {
    await app.close();
  }
}

/** The committed file's exact text: stable key order as Nest emits it, two-space indent, final newline. */
export function openApiText(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const target = resolve(process.argv[2] ?? 'docs/openapi.json');
  writeFileSync(target, openApiText(await buildOpenApiDocument()));
  process.stdout.write(`wrote ${target}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`openapi: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
