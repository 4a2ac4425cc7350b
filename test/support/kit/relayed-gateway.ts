import { type Simulator, startSimulator } from '../../../dev/simulator';
import type { TestApp } from '../app';
import { createTestDatabase, type TestDatabase } from '../database';
import { gatewayEnv } from './env';
import { type InProcessOptions, startGateway } from './gateways';
import { type NodeRelay, startNodeRelay } from './relay';
import { sessionApi, type SessionApi } from './session-api';
import { openableModels, SIMULATOR } from './simulator';

/** A fresh database, a seeded simulator behind a relay, and an in-process gateway talking to the relay. */
export interface RelayedGateway {
  db: TestDatabase;
  sim: Simulator;
  relay: NodeRelay;
  gateway: TestApp;
  http: SessionApi;
  /** openableModels(sim), in its order. */
  models: string[];
  /** Closes the gateway, lets held requests go, stops the relay and the simulator, drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts the stack named `name` (the database's label and the simulator's seed);
 * `env` is added to gatewayEnv's defaults. A failed start stops what had started.
 */
export async function startRelayedGateway(
  name: string,
  env: Record<string, string> = {},
  options?: InProcessOptions,
): Promise<RelayedGateway> {
  let db: TestDatabase | undefined;
  let sim: Simulator | undefined;
  let relay: NodeRelay | undefined;
  let gateway: TestApp | undefined;
  const stop = async () => {
    await gateway?.close();
    relay?.release();
    await relay?.stop();
    await sim?.stop();
    await db?.drop();
  };
  try {
    db = await createTestDatabase(name);
    sim = await startSimulator({ ...SIMULATOR, seed: name });
    relay = await startNodeRelay(sim.url);
    gateway = await startGateway(gatewayEnv(db, relay, env), options);
    return { db, sim, relay, gateway, http: sessionApi(gateway.url), models: openableModels(sim), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
