import type { ExecutionContext } from '@nestjs/common';
import type { Principal } from './principal';

/** Messages have no request to hang the caller on: it is kept by their payload object. */
const messagePrincipals = new WeakMap<object, Principal>();

interface RequestWithPrincipal {
  principal?: Principal;
}

/** Where the auth guard leaves the caller it authenticated (a message's payload is an object). */
export function attachPrincipal(context: ExecutionContext, principal: Principal): void {
  if (context.getType() === 'rpc') messagePrincipals.set(context.switchToRpc().getData<object>(), principal);
  else context.switchToHttp().getRequest<RequestWithPrincipal>().principal = principal;
}

/** The caller the auth guard authenticated; undefined on a public route. */
export function principalOf(context: ExecutionContext): Principal | undefined {
  if (context.getType() === 'rpc') return messagePrincipals.get(context.switchToRpc().getData<object>());
  return context.switchToHttp().getRequest<RequestWithPrincipal>().principal;
}
