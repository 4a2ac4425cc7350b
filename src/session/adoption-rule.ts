import { OnChainSession } from '../proxy-router/node.types';
import { Session } from './session.entity';

/** Chain timestamps and ours may disagree a little: a session may read as opened this much before the send. */
export const SEND_SKEW_S = 5;

/** Unix seconds from which `intent`'s open could have created a session (null: it was never sent). */
export function sentSince(intent: Session): number | null {
  return intent.openSentAt ? Math.floor(intent.openSentAt.getTime() / 1000) - SEND_SKEW_S : null;
}

/**
 * The sessions of a wallet listing (newest first, read back at least to `sentSince`) that
 * the intent's open could have created (docs/API.md §5 rule 6): for its model or bid, open
 * on chain, opened no earlier than a few seconds before the send, and listed above the
 * wallet's newest session before the send (so absent from the wallet then). An intent
 * with no proof (never sent) could have created none.
 */
export function couldHaveCreated(intent: Session, listing: OnChainSession[]): OnChainSession[] {
  const since = sentSince(intent);
  if (since === null) return [];
  const proof = intent.walletNewestBeforeSend;
  const at = proof === null ? -1 : listing.findIndex((s) => s.id === proof);
  // Not in the listing: the proof is older than everything read, so all of it is newer.
  const newer = at === -1 ? listing : listing.slice(0, at);
  return newer.filter((s) => s.closedAt === 0n && s.openedAt >= since && forTargetOf(intent, s));
}

const forTargetOf = (intent: Session, s: OnChainSession): boolean =>
  intent.kind === 'model' ? s.modelId === intent.modelId : s.bidId === intent.bidId;

export type AdoptionVerdict =
  | { kind: 'adopt'; session: OnChainSession }
  /** Nothing the open could have created is in the wallet (yet). */
  | { kind: 'none' }
  /** More than one candidate, or another unsettled intent could own the one there is. */
  | { kind: 'ambiguous' };

/**
 * Adopt only when it is unambiguous: exactly one candidate owned by no row, and no other
 * unsettled intent (`opening`, of any key) that could have created it. Adopting the wrong
 * session leaves the real one paid for and unused; an orphan is counted and closed instead.
 */
export function judgeAdoption(intent: Session, listing: OnChainSession[], owned: Set<string>, opening: Session[]): AdoptionVerdict {
  const candidates = couldHaveCreated(intent, listing).filter((s) => !owned.has(s.id));
  if (!candidates.length) return { kind: 'none' };
  if (candidates.length > 1) return { kind: 'ambiguous' };
  const [only] = candidates;
  const rivals = opening.filter((other) => other.id !== intent.id && other.status === 'opening');
  if (rivals.some((other) => couldHaveCreated(other, listing).some((s) => s.id === only.id))) return { kind: 'ambiguous' };
  return { kind: 'adopt', session: only };
}
