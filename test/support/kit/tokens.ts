import { loginForTokens, testIssuer } from '../oidc';

/** A JWT access token for this API, from a real login of `username` at the e2e run's identity provider. */
export async function aUserAccessToken(username: string): Promise<string> {
  const issuer = testIssuer();
  const tokens = await loginForTokens(
    { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
    { username, resource: issuer.audience },
  );
  return tokens.access_token;
}
