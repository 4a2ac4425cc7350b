import { Session } from './session.entity';
import { isUsable } from './session-lifecycle';
import { rowTargetKey, SessionTarget, targetKey } from './session-target';

/** What a create does, given the key's held rows (docs/API.md §5 rules 2–4). */
export type ClaimDecision =
  /** An open is in flight for the key (another instance, or a crashed process): wait for it, then decide again. */
  | { kind: 'wait'; intentId: string }
  /** Same target with time left: that session is the answer (a replacing one becomes active again). */
  | { kind: 'reuse'; session: Session }
  /** Open a new session; the usable one, if any, is replaced once the new one is recorded. */
  | { kind: 'open'; replacing: Session | null };

/**
 * The claim's choice, a function of rows: `held` are the key's opening/active/replacing rows
 * (oldest first), read under the key's lock; `minDurationS` is the time a reused session
 * must have left.
 */
export function decideClaim(held: Session[], target: SessionTarget, now: Date, minDurationS: number): ClaimDecision {
  const opening = held.find((row) => row.status === 'opening');
  if (opening) return { kind: 'wait', intentId: opening.id };
  const usable = held.find((row) => isUsable(row.status)) ?? null;
  if (usable && rowTargetKey(usable) === targetKey(target) && hasTimeLeft(usable, now, minDurationS)) {
    return { kind: 'reuse', session: usable };
  }
  return { kind: 'open', replacing: usable };
}

function hasTimeLeft(session: Session, now: Date, minDurationS: number): boolean {
  if (!session.expiresAt) return true; // the node has not reported EndsAt yet: assume fresh
  return session.expiresAt.getTime() - now.getTime() >= minDurationS * 1000;
}
