import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Authenticator } from './authenticator';
import { IS_PUBLIC, USER_TOKEN_ONLY } from './decorators';
import { AuthenticationFailedError, UserTokenRequiredError } from './errors';
import { attachPrincipal } from './principal-context';

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
}

/** Global and default-deny: a route is open only if it says `@Public()`. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    if (context.getType() === 'rpc') return this.authenticateMessage(context);
    if (context.getType() !== 'http') throw new AuthenticationFailedError('missing');
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const principal = await this.authenticator.authenticate(Array.isArray(header) ? header[0] : header);
    if (principal.scheme === 'api-key' && this.reflector.getAllAndOverride<boolean>(USER_TOKEN_ONLY, targets)) {
      throw new UserTokenRequiredError();
    }
    attachPrincipal(context, principal);
    return true;
  }

  /** Messages carry `authorization` in their payload and go through the same schemes: no weaker path. */
  private async authenticateMessage(context: ExecutionContext): Promise<boolean> {
    const payload: unknown = context.switchToRpc().getData();
    const authorization = (payload as { authorization?: unknown } | null)?.authorization;
    const principal = await this.authenticator.authenticate(typeof authorization === 'string' ? authorization : undefined);
    if (typeof payload !== 'object' || payload === null) throw new AuthenticationFailedError('malformed');
    attachPrincipal(context, principal);
    return true;
  }
}
