import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { IssuerMetadata } from './auth/oidc-issuer';
import { OAUTH2_SCOPES, SECURITY_SCHEMES } from './auth/decorators';
import { AppConfig } from './config/app-config';

const DESCRIPTION = `Opens, binds, pings and closes Morpheus marketplace sessions through a proxy-router.

Authenticate with one of: **OAuth2** (log in at the identity provider), **BearerAuth** (paste a JWT access token),
**APIKeyAuth** (paste an \`sk-…\` key; \`Bearer \` is optional). Key management (\`/api/v1/auth/*\`) takes user tokens only.`;

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Your identity',
  email: 'Your email address',
  profile: 'Your basic profile',
};

/** The document served at /api/v1/openapi.json (and committed as docs/openapi.json, see src/openapi.ts). */
export function openApiDocument(app: INestApplication, config: AppConfig, issuer?: IssuerMetadata): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Morpheus Session Gateway')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addSecurity(SECURITY_SCHEMES.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: 'An API key from POST /api/v1/auth/keys or the CLI: `sk-…` (with or without `Bearer `)',
    });
  if (config.oidc.issuerUrl) {
    const base = config.oidc.issuerUrl;
    builder
      .addSecurity(SECURITY_SCHEMES.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .addSecurity(SECURITY_SCHEMES.oauth2, {
        type: 'oauth2',
        description: 'Log in at the identity provider (authorization code with PKCE)',
        flows: {
          authorizationCode: {
            authorizationUrl: issuer?.authorization_endpoint ?? `${base}/authorize`,
            tokenUrl: issuer?.token_endpoint ?? `${base}/token`,
            scopes: Object.fromEntries(OAUTH2_SCOPES.map((s) => [s, SCOPE_TEXT[s]])),
          },
        },
      });
  }
  return withoutUndeclaredSchemes(SwaggerModule.createDocument(app, builder.build()));
}

/** Routes name all three schemes; without an issuer only the API key scheme exists. */
function withoutUndeclaredSchemes(document: OpenAPIObject): OpenAPIObject {
  const declared = new Set(Object.keys(document.components?.securitySchemes ?? {}));
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as { security?: Record<string, string[]>[] }[]) {
      if (!operation?.security) continue;
      operation.security = operation.security.filter((requirement) => Object.keys(requirement).every((n) => declared.has(n)));
    }
  }
  return document;
}

/**
 * Swagger UI derives its OAuth2 redirect URI from the page's directory, which for `/docs` (no
 * trailing slash) is the site root: `/oauth2-redirect.html`, a page that does not exist and is
 * not the registered `/docs/oauth2-redirect.html`. The gateway does not know its public URL,
 * so the page computes it: the docs page's own path + `/oauth2-redirect.html` (also right
 * behind a reverse proxy that adds a path prefix). Runs after swagger-ui-init.js and before
 * its window.onload, wrapping the SwaggerUIBundle it calls.
 */
const OAUTH2_REDIRECT_JS = `(function () {
  var bundle = window.SwaggerUIBundle;
  if (typeof bundle !== 'function') return;
  var redirect = window.location.origin + window.location.pathname.replace(/\\/+$/, '') + '/oauth2-redirect.html';
  var withRedirect = function (options) {
    return bundle(Object.assign({ oauth2RedirectUrl: redirect }, options));
  };
  Object.assign(withRedirect, bundle);
  window.SwaggerUIBundle = withRedirect;
})();`;

/** Swagger UI at /docs (assets from the package, no CDN) and the spec at /api/v1/openapi.json. */
export function setupSwagger(app: INestApplication, config: AppConfig, issuer?: IssuerMetadata): void {
  const document = openApiDocument(app, config, issuer);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'api/v1/openapi.json',
    raw: ['json'],
    customSiteTitle: 'Morpheus Session Gateway',
    customJsStr: OAUTH2_REDIRECT_JS,
    swaggerOptions: {
      // A pasted key or token must not outlive the tab in localStorage.
      persistAuthorization: false,
      displayRequestDuration: true,
      initOAuth: {
        clientId: config.oidc.swaggerClientId,
        scopes: OAUTH2_SCOPES,
        usePkceWithAuthorizationCodeGrant: true,
      },
    },
  });
}
