// Throughput of GET /api/v1/session (API-key auth + one indexed read of the key's session)
// against GET /health (no auth, no database) on the same gateway process: 50 connections,
// 10 s each, autocannon. The ratio is what authentication and the session lookup cost.
//
// Run: npm run bench:session   (builds, then this file against dist/)
//      node bench/session-get.js --connections 50 --duration 10 --pool 10
'use strict';
const autocannon = require('autocannon');
const { createKeys, createModelSession, machine, numberArg, startStack } = require('./support');

const CONNECTIONS = numberArg('connections', 50);
const DURATION_S = numberArg('duration', 10);
const POOL = numberArg('pool', 10);

function run(url, headers) {
  return new Promise((done, fail) => {
    const instance = autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers }, (error, result) =>
      error ? fail(error) : done(result),
    );
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

function row(name, result) {
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return {
    route: name,
    'req/s (mean)': Math.round(result.requests.average),
    'latency p50 (ms)': result.latency.p50,
    'latency p99 (ms)': result.latency.p99,
    requests: result.requests.total,
    'non-2xx/errors': non2xx,
  };
}

async function main() {
  const stack = await startStack({ DB_POOL_SIZE: String(POOL), SESSION_SWEEP_INTERVAL_S: '3600' });
  try {
    const [key] = await createKeys(stack.db.url, 1, 'bench-session');
    const created = await createModelSession(stack.gateway.url, key, stack.models[0]);
    if (created.status !== 200) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const check = await fetch(`${stack.gateway.url}/api/v1/session`, { headers: { authorization: `Bearer ${key}` } });
    const body = await check.json();
    if (check.status !== 200 || body.status !== 'active') throw new Error(`GET /api/v1/session: ${check.status} ${JSON.stringify(body)}`);

    // A short warm-up of each route (JIT, connections, key cache), not measured.
    const auth = { authorization: `Bearer ${key}` };
    const warm = { connections: CONNECTIONS, duration: 2 };
    await new Promise((r) => autocannon({ ...warm, url: `${stack.gateway.url}/health` }, r));
    await new Promise((r) => autocannon({ ...warm, url: `${stack.gateway.url}/api/v1/session`, headers: auth }, r));

    const health = await run(`${stack.gateway.url}/health`, {});
    const session = await run(`${stack.gateway.url}/api/v1/session`, auth);
    console.log(`${machine()}; ${CONNECTIONS} connections, ${DURATION_S} s per route, DB_POOL_SIZE ${POOL}`);
    console.table([row('GET /health', health), row('GET /api/v1/session (API key, live session)', session)]);
    console.log(
      `GET /api/v1/session / GET /health: ${(session.requests.average / health.requests.average).toFixed(2)} of the throughput, ` +
        `p50 ${session.latency.p50} vs ${health.latency.p50} ms`,
    );
    if (session.non2xx || session.errors) throw new Error(`${session.non2xx} non-2xx and ${session.errors} errors on GET /api/v1/session`);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
