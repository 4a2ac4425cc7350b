// Scenario 4. Memory: the gateway's RSS (and V8 heap) after start, after a warm-up, and after
// rounds of 100k authenticated requests (autocannon `amount`) — one key with a live session,
// then the same number spread over many keys (every cache keyed by key/user fills up), then
// the one-key run again. Growth must stop at the caches' bounds: the last rounds must not
// keep adding memory per request.
// Target (issue 7): bounded — RSS after the last 100k within 10% (+10 MiB) of after the first.
//
// Run: npm run bench:memory   (builds bench/ into dist/, then runs dist/bench/memory.js)
//      node dist/bench/memory.js --requests 100000 --keys 1000 --connections 50
import {
  autocannonRun,
  machine,
  numberArg,
  openSession,
  type RunResult,
  run,
  scrapeMetrics,
  startStack,
  target,
  withEachRequest,
} from './support';

const REQUESTS = numberArg('requests', 100_000);
const SPREAD_KEYS = numberArg('keys', 1000);
const CONNECTIONS = numberArg('connections', 50);

const MiB = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

interface Snapshot {
  phase: string;
  requests: number;
  'req/s': number | '';
  'p99 (ms)': number | '';
  'statuses 2xx/4xx/other': string;
  'RSS (MiB)': number;
  'heap used (MiB)': number;
  'heap total (MiB)': number;
  'external (MiB)': number;
}

run(async () => {
  console.log(machine());
  console.log(
    `RSS of the gateway process: ${REQUESTS} authenticated GET /api/v1/session per round, ${CONNECTIONS} connections; ` +
      `the spread round cycles ${SPREAD_KEYS} keys; RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)`,
  );
  const stack = await startStack({ SESSION_SWEEP_INTERVAL_S: '3600' });
  const rows: Snapshot[] = [];
  const snapshot = async (phase: string, result?: RunResult) => {
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
    const [key, ...spread] = await stack.keys(SPREAD_KEYS + 1);
    await openSession(stack, key);
    const url = `${stack.gateway.url}/api/v1/session`;
    const oneKey = { url, connections: CONNECTIONS, headers: { authorization: key.auth } };
    let next = 0;
    const spreadKeys = { url, connections: CONNECTIONS, ...withEachRequest(() => spread[next++ % spread.length].key) };

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
});
