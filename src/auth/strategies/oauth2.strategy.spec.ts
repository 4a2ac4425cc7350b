import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config/app-config';
import { AuthenticationFailedError } from '../errors';
import type { OidcIssuer } from '../oidc-issuer';
import type { UserService } from '../user.service';
import { OAuth2Strategy } from './oauth2.strategy';

const CLIENT_ID = 'gateway-client';

/** An introspection endpoint over real HTTP that answers what the test sets. */
let answer: Record<string, unknown> = {};
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

function aStrategy(env: Record<string, string> = {}): OAuth2Strategy {
  const config = loadConfig({ OIDC_ISSUER_URL: 'http://127.0.0.1:1', OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: 'secret', ...env });
  const issuer = {
    configured: true,
    clientIds: [CLIENT_ID],
    metadata: () => Promise.resolve({ issuer: 'http://127.0.0.1:1', jwks_uri: 'unused', introspection_endpoint: endpoint }),
  } as unknown as OidcIssuer;
  const users = {
    resolve: (_issuer: string, sub: string) => Promise.resolve({ id: `user-${sub}`, isActive: true }),
  } as unknown as UserService;
  return new OAuth2Strategy(config, issuer, users);
}

const active = (extra: Record<string, unknown>) => ({
  active: true,
  sub: 'alice',
  client_id: CLIENT_ID,
  exp: Math.floor(Date.now() / 1000) + 300,
  ...extra,
});

let tokenCount = 0;
/** A new token each time: verdicts are cached per token. */
async function verdictFor(strategy: OAuth2Strategy, introspection: Record<string, unknown>): Promise<string> {
  answer = introspection;
  try {
    const principal = await strategy.validate(`opaque-token-${++tokenCount}`);
    return `accepted ${principal.userId}`;
  } catch (error) {
    if (error instanceof AuthenticationFailedError) return `refused ${error.reason}`;
    throw error;
  }
}

describe('OAuth2Strategy: which introspection answers authenticate', () => {
  it.each(['Bearer', 'bearer', 'DPoP', 'dpop', 'access_token', 'ACCESS_TOKEN'])('accepts token_type %s', async (type) => {
    expect(await verdictFor(aStrategy(), active({ token_type: type }))).toBe('accepted user-alice');
  });

  it.each([
    ['a refresh token (no token_type, as oidc-provider answers)', active({})],
    ['token_type refresh_token', active({ token_type: 'refresh_token' })],
    ['the RFC 8693 refresh token type', active({ token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })],
    ['a non-string token_type', active({ token_type: ['Bearer'] })],
    ['an exp in the past', active({ token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) - 1 })],
    ['active false', active({ token_type: 'Bearer', active: false })],
  ])('refuses %s', async (_label, introspection) => {
    expect(await verdictFor(aStrategy(), introspection)).toBe('refused inactive_token');
  });

  it('accepts an answer without token_type with OIDC_INTROSPECTION_REQUIRE_TOKEN_TYPE=false, never a refresh token type', async () => {
    const lenient = aStrategy({ OIDC_INTROSPECTION_REQUIRE_TOKEN_TYPE: 'false' });
    expect(await verdictFor(lenient, active({}))).toBe('accepted user-alice');
    expect(await verdictFor(lenient, active({ token_type: 'refresh_token' }))).toBe('refused inactive_token');
  });
});
