/**
 * The one description of a session row's lifecycle (docs/DESIGN.md "The open
 * protocol"). Every status change goes through SessionRepository.transition, which refuses
 * any move this table does not list.
 */
export const SESSION_STATUSES = ['opening', 'active', 'replacing', 'closing', 'closed', 'expired', 'failed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/**
 * Why a session was closed (docs/API.md §5 "Close reasons"): recorded by the move that first
 * records the intent to close (to `closing`, `closed` or `expired`) and kept from then on.
 */
export const CLOSE_REASONS = ['closed_by_client', 'replaced', 'dead', 'expired', 'revoked', 'user_deactivated', 'closed_by_node'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** The use-cases that move statuses. */
export type Mover =
  /** A create's claim: replaces the key's session, or takes a replacing one back (reuse). */
  | 'claim'
  /** The outcome of an open recorded, by the opener or the reconciler alike. */
  | 'settle'
  /** Past `EndsAt` (rule 7). */
  | 'expire'
  /** A ping found the session dead: closed on chain next. */
  | 'ping'
  /** Closed on chain by the gateway (a close answered, or "already closed"). */
  | 'close'
  /** The node reports the session closed (`ClosedAt` > 0). */
  | 'sweep';

type Table = Record<SessionStatus, Partial<Record<SessionStatus, readonly Mover[]>>>;

/** from → to → who may make that move. */
export const TRANSITIONS: Table = {
  opening: { active: ['settle'], failed: ['settle'] },
  active: { replacing: ['claim'], closing: ['ping'], closed: ['close', 'sweep'], expired: ['expire'] },
  // Still usable until the new session is recorded; back to active when the open fails.
  replacing: { active: ['claim', 'settle'], closing: ['settle', 'ping'], closed: ['close', 'sweep'], expired: ['expire'] },
  closing: { closed: ['close', 'sweep'] },
  // Closed on chain at or after its end: `closed_at` is set, the status stays.
  expired: { expired: ['close', 'sweep'] },
  closed: {},
  failed: {},
};

/** At most one per key (the partial unique index `uq_sessions_live_per_key`). */
export const LIVE: readonly SessionStatus[] = ['opening', 'active'];
/** A session the key can use now (during a replacement, the old one). */
export const USABLE: readonly SessionStatus[] = ['active', 'replacing'];
/** What a key holds: its session, the one it replaces, the one it opens. */
export const HELD: readonly SessionStatus[] = ['opening', ...USABLE];
/** Rows with a chain id whose on-chain state the sweeper follows. */
export const TRACKED: readonly SessionStatus[] = [...USABLE, 'closing', 'expired'];

export const isUsable = (status: SessionStatus): boolean => USABLE.includes(status);

/** The statuses `by` may move to `to` from, narrowed to `within` when given; a move the table does not allow throws. */
export function allowedFrom(to: SessionStatus, by: Mover, within?: readonly SessionStatus[]): SessionStatus[] {
  const allowed = SESSION_STATUSES.filter((from) => TRANSITIONS[from][to]?.includes(by));
  const from = within ? within.filter((status) => allowed.includes(status)) : allowed;
  if (!from.length || (within && from.length !== within.length)) {
    throw new Error(`refused session move ${(within ?? ['*']).join('|')} → ${to} by ${by}`);
  }
  return from;
}
