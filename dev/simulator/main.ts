/**
 * Runs the proxy-router simulator standalone (demo): `node dist/dev/simulator/main.js`.
 * SIM_PORT (default 8082), SIM_HOST (default 127.0.0.1), SIM_USERNAME/SIM_PASSWORD (basic
 * auth, optional), SIM_SEED. Prints one JSON line `{"ready":true,"url":…}` once listening.
 */
import { startSimulator } from './server';

function portFromEnv(raw: string | undefined): number {
  const port = Number(raw ?? 8082);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`SIM_PORT is not a port: ${raw}`);
  return port;
}

async function main(): Promise<void> {
  const simulator = await startSimulator({
    port: portFromEnv(process.env.SIM_PORT),
    host: process.env.SIM_HOST ?? '127.0.0.1',
    username: process.env.SIM_USERNAME,
    password: process.env.SIM_PASSWORD,
    seed: process.env.SIM_SEED,
  });
  process.stdout.write(`${JSON.stringify({ ready: true, url: simulator.url, wallet: simulator.walletAddress })}\n`);
  const shutdown = (): void => {
    simulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`simulator stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
