// Scenario 2. GET /api/v1/session with a user JWT (RS256, verified against the issuer's
// JWKS, which the gateway caches) against the same route with an API key, on one gateway
// process: 50 connections, 10 s per credential per round, rounds alternating. The bench
// starts the development issuer (dev/oidc/dev-issuer.mjs) and logs a user in for a real
// JWT (authorization code + PKCE); the user's first API key is its default key, and holds
// the live session both credentials read.
// Target (issue 7): JWT throughput ≥ 0.8 of the API key's.
//
// Run: npm run bench:jwt   (builds bench/ into dist/, then runs dist/bench/session-jwt.js)
//      node dist/bench/session-jwt.js --connections 50 --duration 10 --rounds 3
import { bearer, client } from '../test/support/app';
import {
  autocannonRun,
  loginForJwt,
  machine,
  median,
  numberArg,
  openSession,
  resultRow,
  run,
  type Stack,
  startIssuer,
  startStack,
  target,
} from './support';

const CONNECTIONS = numberArg('connections', 50);
const DURATION_S = numberArg('duration', 10);
const ROUNDS = numberArg('rounds', 3);

run(async () => {
  console.log(machine());
  console.log(
    `GET /api/v1/session, user JWT vs API key: ${CONNECTIONS} connections, ${DURATION_S} s per credential, ${ROUNDS} rounds; ` +
      'RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)',
  );
  const issuer = await startIssuer();
  let stack: Stack | undefined;
  try {
    stack = await startStack({ ...issuer.gatewayEnv, SESSION_SWEEP_INTERVAL_S: '3600' });
    const jwt = bearer(await loginForJwt(issuer, 'bench-jwt-user'));
    const made = await client(stack.gateway.url)<{ key?: string }>('POST', '/api/v1/auth/keys', { auth: jwt, body: {} });
    if (made.status !== 201 || !made.body.key) throw new Error(`POST /api/v1/auth/keys: ${made.status}`);
    const key = bearer(made.body.key);
    await openSession(stack, key);
    const [byJwt, byKey] = [await stack.api.current(jwt), await stack.api.current(key)];
    if (byJwt.status !== 200 || byJwt.body.session_id !== byKey.body.session_id) {
      throw new Error(`the JWT does not read the key's session: ${JSON.stringify(byJwt.body)} vs ${JSON.stringify(byKey.body)}`);
    }

    const url = `${stack.gateway.url}/api/v1/session`;
    const withJwt = { url, connections: CONNECTIONS, headers: { authorization: jwt } };
    const withKey = { url, connections: CONNECTIONS, headers: { authorization: key } };
    await autocannonRun({ ...withKey, duration: 2 });
    await autocannonRun({ ...withJwt, duration: 2 });

    const rows: Record<string, unknown>[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const k = await autocannonRun({ ...withKey, duration: DURATION_S });
      const j = await autocannonRun({ ...withJwt, duration: DURATION_S });
      for (const [name, r] of [
        ['API key', k],
        ['JWT', j],
      ] as const) {
        if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx and ${r.errors} errors with the ${name}`);
      }
      const ratio = j.requests.average / k.requests.average;
      ratios.push(ratio);
      rows.push(resultRow(`#${round} API key`, k));
      rows.push(resultRow(`#${round} user JWT`, j, { 'jwt/key': Number(ratio.toFixed(2)) }));
    }
    console.table(rows);
    const ratio = median(ratios);
    console.log(`median of ${ROUNDS} rounds: JWT/API key ${ratio.toFixed(2)} (best ${Math.max(...ratios).toFixed(2)})`);
    target('GET /api/v1/session with a user JWT ≥ 0.8 of the API key throughput (median)', ratio >= 0.8);
  } finally {
    await stack?.stop();
    await issuer.stop();
  }
});
