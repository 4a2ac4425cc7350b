import type { SessionRecord, Simulator } from '../../../dev/simulator';
import { waitFor } from './wait';

/**
 * The one basic-auth credential of every simulator the kit starts: spread it into
 * `startSimulator({ ...SIMULATOR, seed })`; gatewayEnv() gives it to the gateway.
 */
export const SIMULATOR = { username: 'gateway', password: 'simulator-e2e-password-7d1f' } as const;

/** A blockchain id as the gateway writes it (lower case). */
export const HEX32 = /^0x[0-9a-f]{64}$/;

/** An on-chain time (unix seconds) as the gateway writes it: ISO 8601 with milliseconds. */
export function chainTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/** Unix seconds now, as the simulator's clock reads it. */
export function chainNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

/** Live models that have a live bid (an open by model succeeds), in the fixture's order. */
export function openableModels(sim: Pick<Simulator, 'marketplace'>): string[] {
  const market = sim.marketplace;
  return market.liveModelIds.filter((id) => id !== market.modelWithoutBidsId);
}

/** The simulator's record of a session the gateway named (fails if it has none). */
export function onChain(sim: Simulator, sessionId: string): SessionRecord {
  const record = sim.control.getSession(sessionId);
  if (!record) throw new Error(`the simulator has no session ${sessionId}`);
  return record;
}

/**
 * Runs `change` on the next session the simulator opens, before the gateway reads it back
 * (`GET /blockchain/sessions/{id}` is held `holdMs` meanwhile): e.g. an `EndsAt` close to
 * now, which the gateway then records. Await the returned promise after the create.
 */
export async function onNextOpen(sim: Simulator, change: (session: SessionRecord) => void, holdMs = 300): Promise<SessionRecord> {
  const known = new Set(sim.control.sessions().map((s) => s.id));
  const previous = sim.control.plan.latencyOf('session');
  sim.control.setLatency('session', holdMs);
  try {
    const opened = await waitFor('a new session at the simulator', () => sim.control.sessions().find((s) => !known.has(s.id)), 10_000, 5);
    change(opened);
    return opened;
  } finally {
    sim.control.setLatency('session', previous);
  }
}

/** The total of every operation the simulator counted. */
export function totalCalls(sim: Simulator): number {
  return Object.values(sim.counts()).reduce((sum, n) => sum + n, 0);
}
