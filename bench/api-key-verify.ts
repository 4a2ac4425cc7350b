// Micro-benchmark: the CPU cost of verifying an API key on each request.
// Run: npm run bench:keys   (builds bench/ into dist/, then runs dist/bench/api-key-verify.js)
import { pbkdf2Sync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { generateApiKey, hashApiKey, hashesMatch } from '../src/auth/api-key.format';
import { ApiKeyVerifier } from '../src/auth/api-key.verifier';
import { loadConfig } from '../src/config/app-config';
import { machine, run } from './support';

interface Measured {
  name: string;
  iterations: number;
  'µs/op': number;
  'ops/s': number;
}

function measured(name: string, iterations: number, ms: number): Measured {
  const perOpUs = (ms * 1000) / iterations;
  return { name, iterations, 'µs/op': Number(perOpUs.toFixed(3)), 'ops/s': Math.round(1e6 / perOpUs) };
}

function measure(name: string, iterations: number, fn: (i: number) => unknown): Measured {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return measured(name, iterations, performance.now() - start);
}

async function measureAsync(name: string, iterations: number, fn: (i: number) => Promise<unknown>, warmup = 1000): Promise<Measured> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn(i);
  return measured(name, iterations, performance.now() - start);
}

interface KeyRow {
  id: string;
  user_id: string;
  key_hash: string;
  is_active: boolean;
  user_active: boolean;
}

/** The verifier's only dependency on the database: one prefix lookup (answered from memory here). */
function inMemoryDataSource(rows: Map<string, KeyRow>): DataSource {
  const query = async (sql: string, params: string[]): Promise<KeyRow[]> => {
    if (sql.startsWith('UPDATE')) return [];
    const row = rows.get(params[0]);
    return row ? [row] : [];
  };
  return { query } as unknown as DataSource;
}

run(async () => {
  const config = loadConfig({});
  // More keys than one pass touches twice: the first pass over them is all cache misses.
  const keys = Array.from({ length: 20_000 }, () => generateApiKey());
  const rows = new Map(
    keys.map(({ key, prefix }, i): [string, KeyRow] => [
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
  console.log(machine());
  console.table(results);
});
