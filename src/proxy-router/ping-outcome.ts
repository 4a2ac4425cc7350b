import { classifyNodeMessage } from './node-errors';
import type { PingResult } from './node.types';
import { isWireObject, parseWireJson, WireFormatError } from './wire-values';

/*
 * What a ping's answer means. Reasons are short and ours: the node's and the provider's
 * own texts can name internal hosts, so they go to the logs only.
 */

const ALIVE: PingResult = { kind: 'alive' };

/** The payload of the first complete `data:` line in `buffer`, or undefined while there is none. */
export function firstDataPayload(buffer: string): string | undefined {
  const lines = buffer.split('\n');
  lines.pop(); // incomplete until its newline arrives
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('data:')) return line.slice(5).trim();
  }
  return undefined;
}

const BUSY_STATUSES: readonly number[] = [429, 503];

/**
 * The node (v7.8+) passes the model backend's 429/503 through as
 * `{"providerModelError": {…}, "statusCode": N}`: the backend is busy, the session is not
 * dead (docs/API.md §12). A bare 429/503 without that marker is not the backend's.
 */
export function isBackendBusy(status: number, text: string): boolean {
  if (!BUSY_STATUSES.includes(status)) return false;
  const body = parsedOrUndefined(text);
  return isWireObject(body) && isWireObject(body.providerModelError);
}

/** The node's answer was an error: an HTTP status, or an error event inside the stream. */
export function pingFailure(message: string, status: number | 'stream'): PingResult {
  switch (classifyNodeMessage(message)) {
    case 'session_expired':
      return { kind: 'expired' };
    case 'session_not_found':
      return { kind: 'dead', reason: 'session not found' };
    default:
      return {
        kind: 'dead',
        reason: status === 'stream' ? 'the provider failed while answering' : `the node or the provider failed (HTTP ${status})`,
      };
  }
}

/** OpenAI-style errors are `{"error": "text"}` (the node) or `{"error": {"message": "text"}}`. */
function errorText(value: unknown): string | undefined {
  if (!isWireObject(value) || value.error === undefined || value.error === null) return undefined;
  if (typeof value.error === 'string') return value.error;
  return isWireObject(value.error) && typeof value.error.message === 'string' ? value.error.message : 'error';
}

function parsedOrUndefined(text: string): unknown {
  try {
    return parseWireJson(text);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    return undefined;
  }
}

/** The first event of a 200 stream: any chunk but an error means the session carried a request. */
export function pingFromEvent(payload: string): PingResult {
  if (payload === '[DONE]') return ALIVE;
  const error = errorText(parsedOrUndefined(payload));
  return error === undefined ? ALIVE : pingFailure(error, 'stream');
}

/** A 200 that is not a stream (a node ignoring `stream: true`): a completion, or an error object. */
export function pingFromBody(text: string): PingResult {
  return pingFromEvent(text.trim());
}

/** The upstream text of an error event, for the logs. */
export function eventErrorText(payload: string): string | undefined {
  return errorText(parsedOrUndefined(payload));
}
