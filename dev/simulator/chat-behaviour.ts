import type { WireObject } from './wire';

/** How the simulated provider answers chat completions on a session. */
export type ChatBehaviour =
  /** Streams `chunks` content chunks (default 3, at most `max_tokens`), `chunkDelayMs` apart (default 5). */
  | { mode: 'normal'; chunks?: number; chunkDelayMs?: number }
  /**
   * The provider fails: 500 `{"error": error}` before any chunk, or — with `afterChunks` —
   * a 200 stream that breaks off with a `data: {"error": …}` event after that many chunks.
   */
  | { mode: 'error'; status?: number; error?: string; afterChunks?: number }
  /** No byte is ever sent; the session stays busy until the client gives up. */
  | { mode: 'hang' }
  /** Answers "session expired" whatever the session's EndsAt. */
  | { mode: 'expired' }
  /**
   * The model backend is rate limited (429, the default) or unavailable (503): the node
   * (v7.8+) passes its status through as `{"providerModelError": {…}, "statusCode": N}`.
   */
  | { mode: 'busy'; status?: BusyStatus };

export type BusyStatus = 429 | 503;
export const BUSY_STATUSES: readonly number[] = [429, 503];

export type ChatMode = ChatBehaviour['mode'];
export const CHAT_MODES: readonly ChatMode[] = ['normal', 'error', 'hang', 'expired', 'busy'];
/** The key that sets the behaviour of every session without its own. */
export const ALL_SESSIONS = '*';

export const DEFAULT_PROVIDER_ERROR = 'provider error: model backend returned 502 Bad Gateway';

/** The backend's own error body (OpenAI-style), as the node passes it through. */
export function providerModelErrorBody(status: BusyStatus): WireObject {
  const error =
    status === 429
      ? { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' }
      : { message: 'The model is overloaded, try again later', type: 'server_error', code: 'service_unavailable' };
  return { providerModelError: { error }, statusCode: status };
}

/** Per-session chat behaviour; a session's own rule wins over the `*` rule. */
export class ChatRules {
  private readonly rules = new Map<string, ChatBehaviour>();

  set(sessionId: string, behaviour: ChatBehaviour | null): void {
    const key = sessionId === ALL_SESSIONS ? ALL_SESSIONS : sessionId.toLowerCase();
    if (behaviour === null) this.rules.delete(key);
    else this.rules.set(key, behaviour);
  }

  for(sessionId: string): ChatBehaviour {
    return this.rules.get(sessionId) ?? this.rules.get(ALL_SESSIONS) ?? { mode: 'normal' };
  }

  clear(): void {
    this.rules.clear();
  }
}
