import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { errorExample } from '../common/openapi';
import { authenticationFailure, UserTokenRequiredError } from './errors';
import { Principal } from './principal';
import { principalOf } from './principal-context';

export { principalOf };

export const IS_PUBLIC = 'auth:isPublic';
export const USER_TOKEN_ONLY = 'auth:userTokenOnly';

/** The OpenAPI security scheme names of docs/API.md §2. */
export const SECURITY_SCHEMES = { oauth2: 'OAuth2', bearer: 'BearerAuth', apiKey: 'APIKeyAuth' } as const;
export const OAUTH2_SCOPES = ['openid', 'email', 'profile'];

/** No credential needed (health, docs). Everything else is denied by default. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Declares, in one place, which schemes a route accepts — for the guard and for Swagger UI. */
export function Authenticated(options: { userTokenOnly?: boolean } = {}): MethodDecorator & ClassDecorator {
  const decorators = [
    SetMetadata(USER_TOKEN_ONLY, options.userTokenOnly === true),
    ApiSecurity(SECURITY_SCHEMES.oauth2, OAUTH2_SCOPES),
    ApiSecurity(SECURITY_SCHEMES.bearer),
    ApiUnauthorizedResponse({
      description: 'No credential, or an invalid, expired or revoked one (`WWW-Authenticate: Bearer`)',
      schema: errorExample(authenticationFailure('missing')),
    }),
  ];
  if (options.userTokenOnly) {
    decorators.push(
      ApiForbiddenResponse({
        description: 'An API key was used where only user tokens are accepted',
        schema: errorExample(new UserTokenRequiredError()),
      }),
    );
  } else {
    decorators.push(ApiSecurity(SECURITY_SCHEMES.apiKey));
  }
  return applyDecorators(...decorators);
}

/** The authenticated caller, set by the global guard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = principalOf(context);
  if (!principal) throw new Error('CurrentPrincipal used on a handler the auth guard did not authenticate');
  return principal;
});
