// Scenario 1. Throughput of GET /api/v1/session (API-key auth + the key's live session)
// against GET /health (no auth, no database) on the same gateway process: 50 connections,
// 10 s per route per round, autocannon; rounds alternate the routes so machine noise hits
// both. The ratio is what authentication and the session lookup cost.
// Targets (issue 7): session/health ≥ 0.5 of the throughput, session p99 < 25 ms.
//
// Run: npm run bench:session   (builds bench/ into dist/, then runs dist/bench/session-get.js)
//      node dist/bench/session-get.js --connections 50 --duration 10 --rounds 3 --pool 10
import { autocannonRun, machine, median, numberArg, openSession, resultRow, run, startStack, target } from './support';

const CONNECTIONS = numberArg('connections', 50);
const DURATION_S = numberArg('duration', 10);
const ROUNDS = numberArg('rounds', 3);
const POOL = numberArg('pool', 10);

run(async () => {
  console.log(machine());
  console.log(
    `GET /api/v1/session (API key) vs GET /health: ${CONNECTIONS} connections, ${DURATION_S} s per route, ${ROUNDS} rounds, ` +
      `DB_POOL_SIZE ${POOL}; RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)`,
  );
  const stack = await startStack({ DB_POOL_SIZE: String(POOL), SESSION_SWEEP_INTERVAL_S: '3600' });
  try {
    const [key] = await stack.keys(1);
    await openSession(stack, key);
    const check = await stack.api.current(key);
    if (check.status !== 200 || check.body.status !== 'active')
      throw new Error(`GET /api/v1/session: ${check.status} ${JSON.stringify(check.body)}`);

    const health = { url: `${stack.gateway.url}/health`, connections: CONNECTIONS };
    const session = { url: `${stack.gateway.url}/api/v1/session`, connections: CONNECTIONS, headers: { authorization: key.auth } };
    // A short warm-up of each route (JIT, connections, caches), not measured.
    await autocannonRun({ ...health, duration: 2 });
    await autocannonRun({ ...session, duration: 2 });

    const rows: Record<string, unknown>[] = [];
    const ratios: number[] = [];
    const p99s: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const h = await autocannonRun({ ...health, duration: DURATION_S });
      const s = await autocannonRun({ ...session, duration: DURATION_S });
      if (s.non2xx || s.errors) throw new Error(`${s.non2xx} non-2xx and ${s.errors} errors on GET /api/v1/session`);
      const ratio = s.requests.average / h.requests.average;
      ratios.push(ratio);
      p99s.push(s.latency.p99);
      rows.push(resultRow(`#${round} GET /health`, h));
      rows.push(resultRow(`#${round} GET /api/v1/session (API key)`, s, { 'session/health': Number(ratio.toFixed(2)) }));
    }
    console.table(rows);
    const ratio = median(ratios);
    const p99 = median(p99s);
    console.log(
      `median of ${ROUNDS} rounds: session/health ${ratio.toFixed(2)} (best ${Math.max(...ratios).toFixed(2)}), ` +
        `session p99 ${p99} ms (best ${Math.min(...p99s)} ms)`,
    );
    target('GET /api/v1/session ≥ 0.5 of GET /health throughput (median)', ratio >= 0.5);
    target('GET /api/v1/session p99 < 25 ms at 50 connections (median)', p99 < 25);
  } finally {
    await stack.stop();
  }
});
