/**
 * A wallet with a past, for the adoption suites (docs/API.md §5 rule 6): sessions of a model
 * that were in the node's wallet before an open was sent, owned by no row.
 */
import type { SessionRecord, Simulator } from '../../../dev/simulator';

export interface WalletHistory {
  /** Opened and closed on chain moments ago. */
  closed: SessionRecord;
  /** Opened moments ago and still open. */
  open: SessionRecord;
}

/** Two sessions of `modelId` opened by the wallet without the gateway: one closed, one open. */
export function seedWalletHistory(sim: Simulator, modelId: string): WalletHistory {
  const closed = sim.control.commitSession({ modelId, sessionDuration: 3600 });
  sim.control.closeSessionByNode(closed.id);
  const open = sim.control.commitSession({ modelId, sessionDuration: 3600 });
  return { closed: sim.control.getSession(closed.id)!, open };
}

/** The ids the simulator's wallet holds now, to tell later sessions apart. */
export const walletIds = (sim: Simulator): Set<string> => new Set(sim.control.sessions().map((s) => s.id));

/** Sessions opened since `before` was taken. */
export const sessionsSince = (sim: Simulator, before: Set<string>): SessionRecord[] =>
  sim.control.sessions().filter((s) => !before.has(s.id));
