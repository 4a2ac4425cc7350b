// Micro-benchmark: the CPU cost of verifying an API key on each request.
// Run: npm run bench:keys   (builds, then runs this file against dist/)
'use strict';
const { pbkdf2Sync } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { generateApiKey, hashApiKey, hashesMatch } = require('../dist/src/auth/api-key.format');
const { ApiKeyVerifier } = require('../dist/src/auth/api-key.verifier');
const { loadConfig } = require('../dist/src/config/app-config');

function measure(name, iterations, fn) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const perOpUs = ((performance.now() - start) * 1000) / iterations;
  return { name, iterations, 'µs/op': Number(perOpUs.toFixed(3)), 'ops/s': Math.round(1e6 / perOpUs) };
}

async function measureAsync(name, iterations, fn, warmup = 1000) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn(i);
  const perOpUs = ((performance.now() - start) * 1000) / iterations;
  return { name, iterations, 'µs/op': Number(perOpUs.toFixed(3)), 'ops/s': Math.round(1e6 / perOpUs) };
}

/** The verifier's only dependency on the database: one prefix lookup (answered from memory here). */
function inMemoryDataSource(rows) {
  return {
    query: async (sql, params) => {
      if (sql.startsWith('UPDATE')) return [];
      const row = rows.get(params[0]);
      return row ? [row] : [];
    },
  };
}

async function main() {
  const config = loadConfig({});
  // More keys than one pass touches twice: the first pass over them is all cache misses.
  const keys = Array.from({ length: 20_000 }, () => generateApiKey());
  const rows = new Map(
    keys.map(({ key, prefix }, i) => [
      prefix,
      { id: `id-${i}`, user_id: 'user', key_hash: hashApiKey(key), is_active: true, user_active: true },
    ]),
  );
  const verifier = new ApiKeyVerifier(config, inMemoryDataSource(rows));
  const missVerifier = new ApiKeyVerifier(config, inMemoryDataSource(rows));
  const stored = hashApiKey(keys[0].key);
  const results = [
    measure('SHA-256 of a key', 200_000, (i) => hashApiKey(keys[i % 1000].key)),
    measure('HMAC-SHA-256 (API_KEY_PEPPER set)', 200_000, (i) => hashApiKey(keys[i % 1000].key, 'pepper')),
    measure('hash + constant-time compare', 200_000, (i) => hashesMatch(stored, hashApiKey(keys[i % 1000].key))),
    await measureAsync('verify(): warm cache (steady state)', 200_000, (i) => verifier.verify(keys[i % 1000].key)),
    await measureAsync('verify(): cache miss (row from memory, no DB)', 18_000, (i) => missVerifier.verify(keys[2000 + i].key), 0),
    measure('for contrast: PBKDF2-SHA256, 100k iterations', 5, (i) => pbkdf2Sync(keys[i].key, 'salt', 100_000, 32, 'sha256')),
  ];
  console.log(`Node ${process.version}, ${require('node:os').cpus()[0].model}, ${require('node:os').cpus().length} cores`);
  console.table(results);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
