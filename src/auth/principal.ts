export type AuthScheme = 'oauth2' | 'jwt' | 'api-key';

/** Who is calling, whatever the scheme. Controllers receive it through `@CurrentPrincipal()`. */
export interface Principal {
  userId: string;
  scheme: AuthScheme;
  /** Set for API keys; user tokens act on the user's default key where a key is needed. */
  apiKeyId?: string;
  apiKeyPrefix?: string;
  scopes: string[];
}

/** How answers and listings show a key, `sk-<prefix>`: the form of {@link Principal.apiKeyPrefix}. */
export { displayPrefix } from './api-key.format';

/** The kinds of bearer credential, told apart by shape alone (docs/API.md §2). */
export type CredentialKind = 'api-key' | 'jwt' | 'opaque';

export interface Credential {
  kind: CredentialKind;
  token: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Reads `Authorization: Bearer <token>` or a bare `sk-…` key (what Swagger UI's apiKey
 * field sends). Nothing else is a credential: not the query string, not the body.
 */
export function parseAuthorization(header: string | undefined): Credential | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  const token = match ? match[1] : value.startsWith('sk-') && !/\s/.test(value) ? value : undefined;
  if (!token) return undefined;
  if (token.startsWith('sk-')) return { kind: 'api-key', token };
  return { kind: JWT_SHAPE.test(token) ? 'jwt' : 'opaque', token };
}
