// Scenario 3. Concurrent session creates.
// (a) K distinct API keys create a session at the same moment while every open takes L ms at
//     the simulator: how long until all K are answered, against L, with the pool size noted.
//     The open protocol holds no database connection during the open, so K > DB_POOL_SIZE
//     should still finish in about one L. Target (issue 7): wall ≤ 1.5 × L at K=100, L=1 s, pool 10.
// (b) A storm: S concurrent creates (same model) for ONE key while the open takes L ms —
//     exactly one open may reach the node; the others are answered with the same session.
//     Counted at the simulator and in gateway_session_opens_total by outcome.
//
// Run: npm run bench:creates   (builds bench/ into dist/, then runs dist/bench/concurrent-creates.js)
//      node dist/bench/concurrent-creates.js --keys 100 --latency 1000 --pool 10 --rounds 3 --storm 200
//      (--in-process-simulator: the simulator in the bench's own process, as before)
import { performance } from 'node:perf_hooks';
import { flagArg, machine, median, numberArg, run, scrapeMetrics, startStack, target } from './support';

const K = numberArg('keys', 100);
const L = numberArg('latency', 1000);
const POOL = numberArg('pool', 10);
const ROUNDS = numberArg('rounds', 3);
const STORM = numberArg('storm', 200);
const IN_PROCESS_SIM = flagArg('in-process-simulator');

const opens = (metrics: Map<string, number>, outcome: string) => metrics.get(`gateway_session_opens_total{outcome="${outcome}"}`) ?? 0;

run(async () => {
  console.log(machine());
  console.log(
    `${K} distinct keys × open latency ${L} ms, DB_POOL_SIZE ${POOL}, ${ROUNDS} rounds; then ${STORM} concurrent creates for one key; ` +
      'RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)',
  );
  // The simulator in its own process: the bench's 100–200 clients must not delay the node's answers.
  const stack = await startStack(
    { DB_POOL_SIZE: String(POOL), SESSION_OPEN_TIMEOUT_MS: String(Math.max(60_000, 10 * L)), SESSION_SWEEP_INTERVAL_S: '3600' },
    { simulatorProcess: !IN_PROCESS_SIM },
  );
  try {
    const keys = await stack.keys(K * ROUNDS + 2);
    const [modelA] = stack.models;
    const create = (key: (typeof keys)[number]) => stack.api.createForModel(key, modelA, { body: { sessionDuration: 3600 } });
    // Warm-up (models cache, connections) with a spare key, at no latency.
    const warm = await create(keys.pop()!);
    if (warm.status !== 200) throw new Error(`warm-up create failed: ${JSON.stringify(warm.body)}`);
    const stormKey = keys.pop()!;
    await stack.sim.setLatency('openModel', L);

    const rows: Record<string, unknown>[] = [];
    const walls: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = keys.slice(round * K, (round + 1) * K);
      await stack.sim.resetCounts();
      const start = performance.now();
      const answers = await Promise.all(
        batch.map(async (key) => {
          const answer = await create(key);
          return { status: answer.status, body: answer.body, ms: performance.now() - start };
        }),
      );
      const wall = performance.now() - start;
      const failed = answers.filter((a) => a.status !== 200);
      if (failed.length) throw new Error(`${failed.length} creates failed: ${JSON.stringify(failed[0])}`);
      const times = answers.map((a) => a.ms).sort((a, b) => a - b);
      walls.push(wall);
      rows.push({
        round: round + 1,
        keys: K,
        'open latency L (ms)': L,
        DB_POOL_SIZE: POOL,
        'opens at the node': (await stack.sim.counts()).openModel,
        'first answer (ms)': Math.round(times[0]),
        'p50 answer (ms)': Math.round(times[Math.floor(times.length / 2)]),
        'last answer = wall (ms)': Math.round(wall),
        'wall / L': Number((wall / L).toFixed(2)),
        'if opens held a connection (ms)': Math.ceil(K / POOL) * L,
      });
    }
    console.table(rows);

    // (b) the storm: one key, STORM creates at once.
    await stack.sim.resetCounts();
    const before = await scrapeMetrics(stack.gateway.url);
    const start = performance.now();
    const storm = await Promise.all(Array.from({ length: STORM }, () => create(stormKey)));
    const stormWall = performance.now() - start;
    const after = await scrapeMetrics(stack.gateway.url);
    const statuses: Record<number, number> = {};
    for (const answer of storm) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const sessionIds = new Set(storm.filter((a) => a.status === 200).map((a) => a.body.session_id));
    const delta = (outcome: string) => opens(after, outcome) - opens(before, outcome);
    const stormRow = {
      'concurrent creates (one key)': STORM,
      'open latency L (ms)': L,
      'answers by status': JSON.stringify(statuses),
      'distinct session ids': sessionIds.size,
      'opens at the node': (await stack.sim.counts()).openModel,
      'opens_total opened': delta('opened'),
      coalesced: delta('coalesced'),
      reused: delta('reused'),
      failed: delta('failed'),
      'wall (ms)': Math.round(stormWall),
    };
    console.table([stormRow]);

    const wall = median(walls);
    console.log(`median wall ${Math.round(wall)} ms = ${(wall / L).toFixed(2)} × L (best ${(Math.min(...walls) / L).toFixed(2)} × L)`);
    target(`${K} keys × L=${L} ms on a pool of ${POOL}: wall ≤ 1.5 × L (median of ${ROUNDS})`, wall <= 1.5 * L);
    target(
      `${STORM} concurrent creates for one key: exactly one open (node and metrics), every answer 200 with one session`,
      stormRow['opens at the node'] === 1 && stormRow['opens_total opened'] === 1 && statuses[200] === STORM && sessionIds.size === 1,
    );
  } finally {
    await stack.stop();
  }
});
