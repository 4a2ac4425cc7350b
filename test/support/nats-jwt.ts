/**
 * Decentralised NATS auth for tests: an operator, an account and users as signed JWTs (the
 * format of nats-io/jwt v2, built here with nats.js's nkeys), a nats-server configuration
 * that trusts them (`resolver: MEMORY`), and `.creds` files as `nsc` would write them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from 'nats';

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** One signed JWT: `sub` described by `nats`, issued (signed) by `issuer`. */
function sign(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = {
    jti: b64url(nkeys.createUser().getPublicKey()),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats,
  };
  const payload = b64url(JSON.stringify(claims));
  const signature = b64url(issuer.sign(Buffer.from(`${header}.${payload}`)));
  return `${header}.${payload}.${signature}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

/** A user JWT's permissions. */
export interface UserPermissions {
  pub?: { allow?: string[] };
  sub?: { allow?: string[] };
}

export interface NatsTrust {
  /** The server configuration lines that trust the operator and preload the account. */
  config: string;
  /** Writes a `.creds` file for a new user of the account with these permissions; returns its path. */
  userCreds(name: string, permissions: UserPermissions): string;
}

export function natsTrust(dir: string): NatsTrust {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const operatorJwt = sign(operator, operator.getPublicKey(), 'test-operator', { type: 'operator', version: 2 });
  const accountJwt = sign(operator, account.getPublicKey(), 'test-account', {
    type: 'account',
    version: 2,
    limits: { ...UNLIMITED, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
    default_permissions: { pub: {}, sub: {} },
  });
  const config = [`operator: ${operatorJwt}`, 'resolver: MEMORY', `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`].join(
    '\n',
  );
  return {
    config,
    userCreds: (name, permissions) => {
      const user = nkeys.createUser();
      const jwt = sign(account, user.getPublicKey(), name, {
        type: 'user',
        version: 2,
        ...UNLIMITED,
        pub: permissions.pub ?? {},
        sub: permissions.sub ?? {},
      });
      const seed = new TextDecoder().decode(user.getSeed());
      const file = join(dir, `${name}.creds`);
      writeFileSync(
        file,
        `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
        { mode: 0o600 },
      );
      return file;
    },
  };
}
