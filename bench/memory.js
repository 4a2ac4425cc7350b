// Scenario 4. Memory: the gateway's RSS (and V8 heap) after start, after a warm-up, and after
// rounds of 100k authenticated requests (autocannon `amount`) — one key with a live session,
// then the same number spread over many keys (every cache keyed by key/user fills up), then
// the one-key run again. Growth must stop at the caches' bounds: the last rounds must not
// keep adding memory per request.
// Target (issue 7): bounded — RSS after the last 100k within 10% (+10 MiB) of after the first.
//
// Run: npm run bench:memory   (builds, then this file against dist/)
//      node bench/memory.js --requests 100000 --keys 1000 --connections 50
'use strict';
const { autocannonRun, createKeys, createModelSession, machine, numberArg, scrapeMetrics, startStack, target } = require('./support');

const REQUESTS = numberArg('requests', 100_000);
const SPREAD_KEYS = numberArg('keys', 1000);
const CONNECTIONS = numberArg('connections', 50);

const MiB = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main() {
  console.log(machine());
  console.log(
    `RSS of the gateway process: ${REQUESTS} authenticated GET /api/v1/session per round, ${CONNECTIONS} connections; ` +
      `the spread round cycles ${SPREAD_KEYS} keys; RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)`,
  );
  const stack = await startStack({ SESSION_SWEEP_INTERVAL_S: '3600' });
  const rows = [];
  const snapshot = async (phase, result) => {
    const metrics = await scrapeMetrics(stack.gateway.url);
    rows.push({
      phase,
      requests: result ? result.requests.total : 0,
      'req/s': result ? Math.round(result.requests.average) : '',
      'p99 (ms)': result ? result.latency.p99 : '',
      'statuses 2xx/4xx/other': result ? `${result['2xx']}/${result['4xx']}/${result.non2xx - result['4xx'] + result.errors}` : '',
      'RSS (MiB)': stack.gateway.rssMiB(),
      'heap used (MiB)': MiB(metrics.get('gateway_process_nodejs_heap_size_used_bytes') ?? NaN),
      'heap total (MiB)': MiB(metrics.get('gateway_process_nodejs_heap_size_total_bytes') ?? NaN),
      'external (MiB)': MiB(metrics.get('gateway_process_nodejs_external_memory_bytes') ?? NaN),
    });
  };
  try {
    await snapshot('after start');
    const [key, ...spread] = await createKeys(stack.db.url, SPREAD_KEYS + 1, 'bench-memory');
    const created = await createModelSession(stack.gateway.url, key, stack.models[0]);
    if (created.status !== 200) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const url = `${stack.gateway.url}/api/v1/session`;
    const oneKey = { url, connections: CONNECTIONS, headers: { authorization: `Bearer ${key}` } };
    let next = 0;
    const spreadKeys = {
      url,
      connections: CONNECTIONS,
      requests: [
        {
          setupRequest: (request) => {
            request.headers = { ...request.headers, authorization: `Bearer ${spread[next++ % spread.length]}` };
            return request;
          },
        },
      ],
    };

    await snapshot('keys made, one session', await autocannonRun({ ...oneKey, amount: 5_000 }));
    await snapshot(`100k, one key (200)`, await autocannonRun({ ...oneKey, amount: REQUESTS }));
    await snapshot(`100k, ${SPREAD_KEYS} keys (no session: 404)`, await autocannonRun({ ...spreadKeys, amount: REQUESTS }));
    await snapshot(`100k, one key again`, await autocannonRun({ ...oneKey, amount: REQUESTS }));
    console.table(rows);
    const first = rows[2]['RSS (MiB)'];
    const last = rows[rows.length - 1]['RSS (MiB)'];
    const start = rows[0]['RSS (MiB)'];
    console.log(
      `RSS: ${start} MiB after start, ${first} MiB after the first 100k, ${last} MiB after ${((rows.length - 2) * REQUESTS) / 1000}k`,
    );
    target('RSS after the last 100k within 10% (+10 MiB) of after the first 100k: no growth per request', last <= first * 1.1 + 10);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
