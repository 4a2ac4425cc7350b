/**
 * Jest global setup of the e2e project: starts ONE development OIDC issuer for the whole run
 * and hands its details to the test workers through TEST_OIDC_* environment variables (workers
 * are spawned after this runs and inherit process.env). Tests read them with testIssuer().
 */
import { startDevIssuer, testIssuerEnv, type DevIssuer } from './oidc';

/** Shared with global-teardown.ts: jest runs both in the same context of the parent process. */
export const DEV_ISSUER_HANDLE = '__morpheusDevOidcIssuer';

type GlobalWithIssuer = typeof globalThis & { [DEV_ISSUER_HANDLE]?: DevIssuer };

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export default async function globalSetup(): Promise<void> {
  let issuer: DevIssuer;
  try {
    issuer = await startDevIssuer();
  } catch (err) {
    // Jest prints only the message of a failing global setup: make it say what failed and where.
    throw new Error(
      `e2e global setup (test/support/global-setup.ts): could not start the development OIDC issuer ` +
        `dev/oidc/dev-issuer.mjs: ${describeError(err)}`,
      { cause: err },
    );
  }
  (globalThis as GlobalWithIssuer)[DEV_ISSUER_HANDLE] = issuer;
  Object.assign(process.env, testIssuerEnv(issuer));
}
