import { OnChainSession } from '../proxy-router/node.types';
import { OnChainFacts } from './session.repository';

const MAX_DATE_SECONDS = 8_640_000_000_000n; // the largest instant a JS Date can hold

/** `EndsAt` is a big integer on the wire; beyond what a Date holds it is reported as unknown. */
export function secondsToDate(seconds: bigint | number): Date | null {
  const value = BigInt(seconds);
  if (value <= 0n || value > MAX_DATE_SECONDS) return null;
  return new Date(Number(value) * 1000);
}

/** What the database keeps of the node's view of a session (rule 7: `expires_at` is `EndsAt`). */
export function factsOf(chainSessionId: string, session: OnChainSession | null): OnChainFacts {
  return {
    chainSessionId,
    bidId: session?.bidId ?? null,
    provider: session?.provider ?? null,
    modelId: session?.modelId ?? null,
    openedAt: session ? secondsToDate(session.openedAt) : null,
    expiresAt: session ? secondsToDate(session.endsAt) : null,
  };
}
