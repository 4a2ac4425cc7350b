import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type ChatBehaviour, type ChatRules, DEFAULT_PROVIDER_ERROR, providerModelErrorBody } from './chat-behaviour';
import { type HeldResponses, isGone, pause, readBody, sendJson } from './http-io';
import { parseHexId } from './request-params';
import type { StreamRoute } from './route-types';
import type { SessionLedger } from './session-ledger';
import type { SessionQueue } from './session-queue';
import { NodeErrors, SimError, badRequest, serverError } from './sim-error';
import { errorBody } from './wire';

export interface ChatDeps {
  ledger: SessionLedger;
  rules: ChatRules;
  queue: SessionQueue;
  held: HeldResponses;
  signal: AbortSignal;
}

interface ChatRequest {
  sessionId: string;
  stream: boolean;
  maxTokens: number | undefined;
}

const WORDS = ['Hello', ' from', ' the', ' simulated', ' provider', '.', ' How', ' can', ' I', ' help?'];
const MODEL_NAME = 'simulated-model';

function parseChatRequest(sessionHeader: string | string[] | undefined, text: string): ChatRequest {
  if (typeof sessionHeader !== 'string' || sessionHeader === '') throw badRequest('session_id header is required');
  const sessionId = parseHexId(sessionHeader);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest(`invalid character '${text.trim()[0] ?? ''}' looking for beginning of value`);
  }
  if (body === null || typeof body !== 'object') {
    throw badRequest('json: cannot unmarshal into Go value of type openai.ChatCompletionRequest');
  }
  const { stream, max_tokens: maxTokens } = body as { stream?: unknown; max_tokens?: unknown };
  return { sessionId, stream: stream === true, maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined };
}

function chunk(id: string, delta: Record<string, string>, finish: string | null): string {
  const choices = [{ index: 0, delta, finish_reason: finish }];
  const payload = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: MODEL_NAME, choices };
  return `data: ${JSON.stringify(payload)}\n\n`;
}

function contentPieces(behaviour: ChatBehaviour, maxTokens: number | undefined): string[] {
  let wanted = 0;
  if (behaviour.mode === 'normal') wanted = behaviour.chunks ?? 3;
  if (behaviour.mode === 'error') wanted = behaviour.afterChunks ?? 0;
  const count = Math.max(0, Math.min(wanted, maxTokens ?? Number.POSITIVE_INFINITY));
  return Array.from({ length: count }, (_, i) => WORDS[i % WORDS.length]);
}

const completionId = (): string => `chatcmpl-${randomBytes(12).toString('hex')}`;

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };

/** Writes the content chunks; false when the client went away meanwhile. */
async function writeStream(res: ServerResponse, id: string, pieces: string[], delayMs: number, signal: AbortSignal): Promise<boolean> {
  res.writeHead(200, SSE_HEADERS);
  for (const [index, piece] of pieces.entries()) {
    if (isGone(res)) return false;
    res.write(chunk(id, index === 0 ? { role: 'assistant', content: piece } : { content: piece }, null));
    await pause(delayMs, signal);
  }
  return !isGone(res);
}

async function streamCompletion(res: ServerResponse, behaviour: ChatBehaviour, request: ChatRequest, signal: AbortSignal): Promise<void> {
  const delayMs = behaviour.mode === 'normal' ? (behaviour.chunkDelayMs ?? 5) : 5;
  const id = completionId();
  if (!(await writeStream(res, id, contentPieces(behaviour, request.maxTokens), delayMs, signal))) return;
  if (behaviour.mode === 'error') {
    // A provider failure mid-stream: the node forwards it as an SSE event and ends.
    res.end(`data: ${JSON.stringify(errorBody(behaviour.error ?? DEFAULT_PROVIDER_ERROR))}\n\n`);
    return;
  }
  res.write(chunk(id, {}, 'stop'));
  res.end('data: [DONE]\n\n');
}

function completionBody(request: ChatRequest, behaviour: ChatBehaviour): Record<string, unknown> {
  const content = contentPieces(behaviour, request.maxTokens).join('');
  return {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: MODEL_NAME,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  };
}

/** The checks the node makes once the request holds the session. */
function behaviourFor(deps: ChatDeps, sessionId: string): ChatBehaviour {
  const session = deps.ledger.get(sessionId);
  if (!session || session.closedAt > 0n) throw serverError(NodeErrors.sessionNotFound);
  const behaviour = deps.rules.for(sessionId);
  if (behaviour.mode === 'expired' || deps.ledger.now() >= session.endsAt) throw serverError(NodeErrors.sessionExpired);
  if (behaviour.mode === 'error' && behaviour.afterChunks === undefined) {
    throw new SimError(behaviour.status ?? 500, behaviour.error ?? DEFAULT_PROVIDER_ERROR);
  }
  return behaviour;
}

async function answer(deps: ChatDeps, res: ServerResponse, request: ChatRequest): Promise<void> {
  const behaviour = behaviourFor(deps, request.sessionId);
  if (behaviour.mode === 'busy') {
    const status = behaviour.status ?? 429;
    return sendJson(res, status, providerModelErrorBody(status));
  }
  if (behaviour.mode === 'hang') {
    deps.held.hold(res);
    await new Promise<void>((resolve) => res.once('close', resolve));
    return;
  }
  if (request.stream || behaviour.mode === 'error') return streamCompletion(res, behaviour, request, deps.signal);
  sendJson(res, 200, JSON.stringify(completionBody(request, behaviour)));
}

/** POST /v1/chat/completions, one request per session at a time (FIFO), latency inside the turn. */
export function chatRoute(deps: ChatDeps): StreamRoute {
  return {
    kind: 'stream',
    method: 'POST',
    pattern: /^\/v1\/chat\/completions$/,
    op: 'chat',
    prepare: async ({ req, res }) => {
      const request = parseChatRequest(req.headers['session_id'], await readBody(req));
      return async (latencyMs) => {
        const release = await deps.queue.acquire(request.sessionId);
        try {
          await pause(latencyMs, deps.signal);
          if (!isGone(res)) await answer(deps, res, request);
        } finally {
          release();
        }
      };
    },
  };
}
