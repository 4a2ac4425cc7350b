import { client, type JsonResponse } from '../app';

export interface SessionCreatedBody {
  success: boolean;
  message: string;
  session_id: string;
  api_key_prefix: string;
  model: string;
  bid_id: string | null;
  provider: string | null;
  expires_at: string | null;
  reused: boolean;
  replaced_session_id: string | null;
}

export interface CurrentSessionBody {
  session_id: string | null;
  model: string | null;
  bid_id: string | null;
  provider: string | null;
  status: 'active' | 'opening';
  opened_at: string | null;
  expires_at: string | null;
  api_key_prefix: string;
}

export interface PingBody {
  status: 'alive' | 'dead' | 'expired' | 'timeout' | 'busy' | 'no_session';
  message: string;
  session_id?: string;
  success: boolean;
}

export interface CloseBody {
  success: boolean;
  message: string;
  session_id: string | null;
}

/** What an error answer adds (docs/API.md §1): a route's answer is its body or this. */
export interface ErrorFields {
  detail?: any;
  error?: any;
}

/** The error types of docs/API.md §1. */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'rate_limit_error' | 'api_error';

/** An error answer's whole body (docs/API.md §1). */
export const errorBody = (detail: string, type: ErrorType, code: string) => ({
  detail,
  error: { message: detail, type, param: null, code },
});

/** The detail of the 504 open_outcome_unknown answer (docs/API.md §5). */
export const UNKNOWN_OUTCOME = 'The outcome of the open is not known yet; the gateway is reconciling it — check GET /api/v1/session';

/** Request options of the create routes: a JSON body (default `{}`), or raw text, or none. */
export type CreateBody = { body?: unknown; rawBody?: string; headers?: Record<string, string>; noBody?: boolean };

/** A whole Authorization header value, or a key (its `auth`), or none. */
export type Credential = string | { auth: string } | undefined;

const authOf = (credential: Credential): string | undefined => (typeof credential === 'object' ? credential.auth : credential);

/** The session routes of one gateway (docs/API.md §5), and a plain GET. */
export function sessionApi(baseUrl: string) {
  const call = client(baseUrl);
  const createOptions = (credential: Credential, options: CreateBody) => {
    const auth = authOf(credential);
    if (options.noBody || options.rawBody !== undefined) return { auth, rawBody: options.rawBody, headers: options.headers };
    return { auth, body: options.body ?? {}, headers: options.headers };
  };
  return {
    /** POST /api/v1/session/modelsession; `modelId` undefined leaves the query parameter out. */
    createForModel: (auth: Credential, modelId: string | undefined, options: CreateBody = {}) =>
      call<SessionCreatedBody & ErrorFields>(
        'POST',
        `/api/v1/session/modelsession${modelId === undefined ? '' : `?model_id=${encodeURIComponent(modelId)}`}`,
        createOptions(auth, options),
      ),
    /** POST /api/v1/session/bidsession; `bidId` undefined leaves the query parameter out. */
    createForBid: (auth: Credential, bidId: string | undefined, options: CreateBody = {}) =>
      call<SessionCreatedBody & ErrorFields>(
        'POST',
        `/api/v1/session/bidsession${bidId === undefined ? '' : `?bid_id=${encodeURIComponent(bidId)}`}`,
        createOptions(auth, options),
      ),
    current: (auth: Credential) => call<CurrentSessionBody & ErrorFields>('GET', '/api/v1/session', { auth: authOf(auth) }),
    ping: (auth: Credential) => call<PingBody & ErrorFields>('POST', '/api/v1/session/pingsession', { auth: authOf(auth) }),
    close: (auth: Credential) => call<CloseBody & ErrorFields>('POST', '/api/v1/session/closesession', { auth: authOf(auth) }),
    get: <T = any>(path: string, auth?: Credential) => call<T>('GET', path, { auth: authOf(auth) }),
  };
}
export type SessionApi = ReturnType<typeof sessionApi>;
export type { JsonResponse };
