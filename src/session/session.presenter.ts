import { CloseResponseDto, CurrentSessionDto, PingResponseDto, SessionCreatedDto } from './dto/session-response.dto';
import { Session } from './session.entity';
import { CurrentSession, PingOutcome } from './session.service';
import { OpenOutcome } from './session-opener';

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** The answers of docs/API.md §5, from domain outcomes. HTTP and messages share them. */
export function presentCreated(outcome: OpenOutcome & { apiKeyPrefix: string }): SessionCreatedDto {
  const { session } = outcome;
  return {
    success: true,
    message: outcome.reused ? 'Existing session reused for this API key' : 'Session created and associated with API key',
    session_id: session.chainSessionId!,
    api_key_prefix: outcome.apiKeyPrefix,
    model: session.modelId!,
    bid_id: session.bidId,
    provider: session.provider,
    expires_at: iso(session.expiresAt),
    reused: outcome.reused,
    replaced_session_id: outcome.replacedSessionId,
  };
}

export function presentCurrent({ status, session, apiKeyPrefix }: CurrentSession): CurrentSessionDto {
  const opening = status === 'opening';
  return {
    session_id: opening ? null : session.chainSessionId,
    model: session.modelId,
    bid_id: session.bidId,
    provider: opening ? null : session.provider,
    status,
    opened_at: opening ? null : iso(session.openedAt),
    expires_at: opening ? null : iso(session.expiresAt),
    api_key_prefix: apiKeyPrefix,
  };
}

const PING_MESSAGES = {
  alive: 'Session is alive',
  dead: 'Session is dead and has been closed',
  expired: 'Session is expired and has been marked as inactive',
  timeout: 'No answer within the ping timeout; the session was left open',
  busy: 'The provider is busy; the session was left open',
  no_session: 'No active session found for this API key',
} as const;

export function presentPing(outcome: PingOutcome): PingResponseDto {
  if (outcome.status === 'no_session') return { status: 'no_session', message: PING_MESSAGES.no_session, success: false };
  const answer: PingResponseDto = {
    status: outcome.status,
    message: PING_MESSAGES[outcome.status],
    session_id: outcome.session.chainSessionId!,
    success: outcome.status === 'alive',
  };
  if (outcome.status === 'dead') answer.error = outcome.reason;
  return answer;
}

export function presentClosed(session: Session | null): CloseResponseDto {
  return session
    ? { success: true, message: 'Session closed successfully', session_id: session.chainSessionId }
    : { success: true, message: 'No active session found to close', session_id: null };
}
