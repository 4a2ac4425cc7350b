// K distinct API keys create a session at the same moment while every open takes L ms at the
// simulator: how long until all K are answered, against L, with the pool size noted. The
// open protocol holds no database connection during the open, so K > DB_POOL_SIZE should
// still finish in about one L.
//
// Run: npm run bench:creates   (builds, then this file against dist/)
//      node bench/concurrent-creates.js --keys 30 --latency 2000 --pool 10 --rounds 3
'use strict';
const { performance } = require('node:perf_hooks');
const { createKeys, createModelSession, machine, numberArg, startStack } = require('./support');

const K = numberArg('keys', 30);
const L = numberArg('latency', 2000);
const POOL = numberArg('pool', 10);
const ROUNDS = numberArg('rounds', 3);

async function main() {
  const stack = await startStack({
    DB_POOL_SIZE: String(POOL),
    SESSION_OPEN_TIMEOUT_MS: String(Math.max(60_000, 10 * L)),
    SESSION_SWEEP_INTERVAL_S: '3600',
  });
  try {
    const keys = await createKeys(stack.db.url, K * ROUNDS + 1, 'bench-creates');
    const [modelA] = stack.models;
    // Warm-up (models cache, connections) with the spare key, at no latency.
    const warm = await createModelSession(stack.gateway.url, keys.pop(), modelA);
    if (warm.status !== 200) throw new Error(`warm-up create failed: ${JSON.stringify(warm)}`);
    stack.sim.control.setLatency('openModel', L);

    const rows = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = keys.slice(round * K, (round + 1) * K);
      stack.sim.control.resetCounts();
      const start = performance.now();
      const answers = await Promise.all(
        batch.map(async (key) => {
          const answer = await createModelSession(stack.gateway.url, key, modelA);
          return { ...answer, ms: performance.now() - start };
        }),
      );
      const wall = performance.now() - start;
      const failed = answers.filter((a) => a.status !== 200);
      if (failed.length) throw new Error(`${failed.length} creates failed: ${JSON.stringify(failed[0])}`);
      const times = answers.map((a) => a.ms).sort((a, b) => a - b);
      rows.push({
        round: round + 1,
        keys: K,
        'open latency L (ms)': L,
        DB_POOL_SIZE: POOL,
        'opens at the node': stack.sim.counts().openModel,
        'first answer (ms)': Math.round(times[0]),
        'last answer = wall (ms)': Math.round(wall),
        'wall / L': Number((wall / L).toFixed(2)),
        'if opens held a connection (ms)': Math.ceil(K / POOL) * L,
      });
    }
    console.log(machine());
    console.table(rows);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
