/** Jest global teardown of the e2e project: stops the issuer started by global-setup.ts. */
import { DEV_ISSUER_HANDLE } from './global-setup';
import type { DevIssuer } from './oidc';

type GlobalWithIssuer = typeof globalThis & { [DEV_ISSUER_HANDLE]?: DevIssuer };

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as GlobalWithIssuer;
  const issuer = holder[DEV_ISSUER_HANDLE];
  if (!issuer) return; // Setup failed before starting it; jest already reported why.
  delete holder[DEV_ISSUER_HANDLE];
  try {
    await issuer.stop();
  } catch (err) {
    throw new Error(`e2e global teardown: stopping the development OIDC issuer failed: ${String(err)}`, { cause: err });
  }
}
