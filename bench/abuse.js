// Scenario 5. Abuse: a valid caller's latency while a flood of invalid credentials runs.
// The valid caller: GET /api/v1/session with a real key (live session), a steady rate
// (--rate req/s over --valid-connections), measured alone and then during a flood of two
// concurrent autocannon instances, each in its own process, unthrottled:
//   - invalid API keys: a new random `sk-<prefix>.<secret>` on every request (every prefix
//     unknown: no cache can answer it);
//   - forged JWTs: RS256 tokens with the real issuer's `kid`, `iss` and `aud`, signed by an
//     attacker's key (--forged distinct tokens, cycled), so each one costs a signature check.
// Then RSS after the flood.
// Target (issue 7): valid p99 at most doubled by the flood; RSS bounded.
//
// Run: npm run bench:abuse   (builds, then this file against dist/)
//      node bench/abuse.js --duration 10 --rate 500 --valid-connections 10 --flood-connections 25
//      node bench/abuse.js --flood keys|jwts|both --flood-rate 1000   (per flood process; default unthrottled)
//      node bench/abuse.js --pool 10   (DB_POOL_SIZE)
'use strict';
const { fork } = require('node:child_process');
const { createPrivateKey, generateKeyPairSync, randomBytes, sign } = require('node:crypto');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const {
  autocannonRun,
  createKeys,
  createModelSession,
  machine,
  numberArg,
  resultRow,
  scrapeMetrics,
  startIssuer,
  startStack,
  stringArg,
  target,
} = require('./support');

const DURATION_S = numberArg('duration', 10);
const RATE = numberArg('rate', 500);
const VALID_CONNECTIONS = numberArg('valid-connections', 10);
const FLOOD_CONNECTIONS = numberArg('flood-connections', 25);
const FORGED = numberArg('forged', 2000);
const POOL = numberArg('pool', 10);
/** Per flood process, req/s; 0: unthrottled. */
const FLOOD_RATE = numberArg('flood-rate', 0);
/** keys, jwts or both. */
const FLOODS = (stringArg('flood', 'both') === 'both' ? 'keys,jwts' : stringArg('flood', 'both')).split(',');

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A flood generator, in a child process (`--role keys|jwts`): reports its result over IPC. */
async function flood() {
  const role = stringArg('role');
  const url = stringArg('url');
  const duration = numberArg('duration', 10);
  const connections = numberArg('connections', 25);
  const tokens = role === 'jwts' ? JSON.parse(readFileSync(stringArg('tokens'), 'utf8')) : [];
  let next = 0;
  const credential = () => {
    if (role === 'jwts') return tokens[next++ % tokens.length];
    const prefix = randomBytes(6)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 8);
    return `sk-${prefix}.${randomBytes(32).toString('base64url')}`;
  };
  const rate = numberArg('rate', 0);
  const result = await autocannonRun({
    url,
    connections,
    duration,
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        setupRequest: (request) => {
          request.headers = { ...request.headers, authorization: `Bearer ${credential()}` };
          return request;
        },
      },
    ],
  });
  process.send({
    role,
    result: {
      requests: result.requests,
      latency: result.latency,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      '4xx': result['4xx'],
      '2xx': result['2xx'],
    },
  });
}

function startFlood(role, url, duration, tokensFile) {
  const args = [
    '--role',
    role,
    '--url',
    url,
    '--duration',
    String(duration),
    '--connections',
    String(FLOOD_CONNECTIONS),
    '--rate',
    String(FLOOD_RATE),
  ];
  if (tokensFile) args.push('--tokens', tokensFile);
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((done, fail) => {
    child.once('message', (message) => done(message.result));
    child.once('exit', (code) => (code ? fail(new Error(`flood ${role} exited ${code}`)) : undefined));
  });
}

/** RS256 tokens that name the real issuer, audience and kid, signed by a key the issuer never had. */
async function forgedTokens(issuer, count) {
  const discovery = await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  const kid = jwks.keys[0].kid;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const header = b64url({ alg: 'RS256', typ: 'at+jwt', kid });
    const payload = b64url({
      iss: issuer.issuer,
      aud: issuer.audience,
      sub: `forger-${i}`,
      client_id: issuer.clientId,
      iat: now,
      exp: now + 3600,
      jti: randomBytes(8).toString('hex'),
    });
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key).toString('base64url');
    return `${header}.${payload}.${signature}`;
  });
}

async function main() {
  console.log(machine());
  console.log(
    `valid caller: GET /api/v1/session (API key), ${RATE} req/s over ${VALID_CONNECTIONS} connections, ${DURATION_S} s; ` +
      `flood: ${FLOODS.join(' + ')}, one process each, ${FLOOD_CONNECTIONS} connections, ${FLOOD_RATE ? `${FLOOD_RATE} req/s each` : 'unthrottled'} ` +
      `(random API keys; ${FORGED} forged RS256 JWTs); ` +
      `DB_POOL_SIZE ${POOL}; RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)`,
  );
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-abuse-'));
  let stack;
  try {
    stack = await startStack({ ...issuer.gatewayEnv, DB_POOL_SIZE: String(POOL), SESSION_SWEEP_INTERVAL_S: '3600' });
    const tokensFile = join(dir, 'forged.json');
    writeFileSync(tokensFile, JSON.stringify(await forgedTokens(issuer, FORGED)));
    const [key] = await createKeys(stack.db.url, 1, 'bench-abuse');
    const created = await createModelSession(stack.gateway.url, key, stack.models[0]);
    if (created.status !== 200) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const forgedCheck = await fetch(`${stack.gateway.url}/api/v1/session`, {
      headers: { authorization: `Bearer ${JSON.parse(readFileSync(tokensFile, 'utf8'))[0]}` },
    });
    if (forgedCheck.status !== 401) throw new Error(`a forged JWT was answered ${forgedCheck.status}`);

    const valid = {
      url: `${stack.gateway.url}/api/v1/session`,
      connections: VALID_CONNECTIONS,
      overallRate: RATE,
      headers: { authorization: `Bearer ${key}` },
    };
    await autocannonRun({ ...valid, duration: 2 }); // warm-up
    const rssStart = stack.gateway.rssMiB();
    const alone = await autocannonRun({ ...valid, duration: DURATION_S });
    const rssBefore = stack.gateway.rssMiB();

    const metricsBefore = await scrapeMetrics(stack.gateway.url);
    // The floods start first and outlast the measured run by a second on each side.
    const floods = Promise.all([
      FLOODS.includes('keys') ? startFlood('keys', valid.url, DURATION_S + 2, undefined) : undefined,
      FLOODS.includes('jwts') ? startFlood('jwts', valid.url, DURATION_S + 2, tokensFile) : undefined,
    ]);
    await new Promise((r) => setTimeout(r, 1_000));
    const during = await autocannonRun({ ...valid, duration: DURATION_S });
    const rssPeak = stack.gateway.rssMiB();
    const [keysFlood, jwtsFlood] = await floods;
    const metricsAfter = await scrapeMetrics(stack.gateway.url);
    const failures = (reason, scheme) =>
      (metricsAfter.get(`gateway_auth_failures_total{scheme="${scheme}",reason="${reason}"}`) ?? 0) -
      (metricsBefore.get(`gateway_auth_failures_total{scheme="${scheme}",reason="${reason}"}`) ?? 0);
    await new Promise((r) => setTimeout(r, 5_000)); // negative caches (4 s) expire
    const after = await autocannonRun({ ...valid, duration: 5 });
    const rssAfter = stack.gateway.rssMiB();

    const floodRow = (name, r) => ({
      scenario: name,
      'req/s (mean)': Math.round(r.requests.average),
      'p50 (ms)': r.latency.p50,
      'p99 (ms)': r.latency.p99,
      'max (ms)': r.latency.max,
      requests: r.requests.total,
      'non-2xx/errors': r.non2xx + r.errors + r.timeouts,
    });
    console.table([
      resultRow('valid caller alone', alone, { 'RSS after (MiB)': rssBefore }),
      resultRow('valid caller during the flood', during, { 'RSS after (MiB)': rssPeak }),
      ...(keysFlood ? [floodRow('flood: random API keys (401)', keysFlood)] : []),
      ...(jwtsFlood ? [floodRow('flood: forged JWTs (401)', jwtsFlood)] : []),
      resultRow('valid caller 5 s after the flood', after, { 'RSS after (MiB)': rssAfter }),
    ]);
    console.log(
      `auth failures counted during the flood: api-key/unknown_key ${failures('unknown_key', 'api-key')}, ` +
        `jwt/invalid_token ${failures('invalid_token', 'jwt')}; RSS ${rssStart} MiB before, ${rssPeak} MiB at the end of the flood, ${rssAfter} MiB after`,
    );
    const ratio = during.latency.p99 / alone.latency.p99;
    console.log(`valid p99 during / alone: ${ratio.toFixed(2)} (${during.latency.p99} vs ${alone.latency.p99} ms)`);
    if (during.non2xx || during.errors || alone.non2xx) throw new Error('the valid caller got non-2xx answers');
    target('valid-caller p99 during the flood ≤ 2 × alone', ratio <= 2);
    target('RSS after the flood bounded (≤ RSS before + 64 MiB)', rssAfter <= rssStart + 64);
  } finally {
    await stack?.stop();
    await issuer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

(stringArg('role') ? flood() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
