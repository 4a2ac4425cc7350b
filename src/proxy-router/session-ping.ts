import type { LoggerService } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import { ProviderTimeoutError, ProviderUnreachableError, ProviderUpstreamError } from './errors';
import { eventErrorText, firstDataPayload, isBackendBusy, pingFailure, pingFromBody, pingFromEvent } from './ping-outcome';
import type { ProxyRouterClient } from './proxy-router.client';
import { NodePaths } from './proxy-router.paths';
import { errorMessageFromBody } from './proxy-router.wire';
import type { PingResult } from './node.types';
import type { Redaction } from './redaction';
import { DeadlineExceeded, type NodeRequest, toTransportFailure } from './transport';

type Body = Dispatcher.ResponseData['body'];

const pingRequest = (sessionId: string): NodeRequest => ({
  operation: 'chat',
  method: 'POST',
  path: NodePaths.chat(),
  headers: { session_id: sessionId, accept: 'text/event-stream' },
  body: { messages: [{ role: 'user', content: 'ping' }], stream: true, max_tokens: 1 },
});

/** A failure while reading the body: our deadline → timeout, anything else → the node went away. */
function bodyFailure(error: unknown, signal: AbortSignal): Error {
  const failure = toTransportFailure(error, signal);
  const mapped = failure.kind === 'timeout' ? new ProviderTimeoutError() : new ProviderUnreachableError();
  return mapped.withLogFields({ operation: 'chat', failure: failure.kind, errorCode: failure.errorCode });
}

async function readText(body: Body, signal: AbortSignal): Promise<string> {
  try {
    return await body.text();
  } catch (error) {
    throw bodyFailure(error, signal);
  }
}

/** Reads the stream only until its first `data:` line. */
async function readFirstPayload(body: Body, signal: AbortSignal): Promise<string | undefined> {
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      const payload = firstDataPayload(buffer);
      if (payload !== undefined) return payload;
    }
  } catch (error) {
    throw bodyFailure(error, signal);
  }
  return undefined;
}

/**
 * Probes a session with a one-token streamed completion and stops at the first chunk.
 * The node serves one request per session at a time, so a ping may queue behind a chat:
 * no chunk within `timeoutMs` is "timeout", not "dead".
 */
export class SessionPing {
  constructor(
    private readonly client: ProxyRouterClient,
    private readonly logger: Pick<LoggerService, 'warn'>,
    private readonly redaction: Redaction,
  ) {}

  async run(sessionId: string, timeoutMs: number): Promise<PingResult> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded(false)), timeoutMs);
    try {
      const response = await this.client.stream(pingRequest(sessionId), controller.signal);
      return await this.outcome(response, controller.signal);
    } catch (error) {
      // Only the ping's own deadline raises this here (stream() maps nothing else to it).
      if (error instanceof ProviderTimeoutError) return { kind: 'timeout' };
      throw error;
    } finally {
      clearTimeout(timer);
      // One chunk is all a ping needs: drop the rest of the stream (and its connection).
      controller.abort();
    }
  }

  private async outcome(response: Dispatcher.ResponseData, signal: AbortSignal): Promise<PingResult> {
    if (response.statusCode !== 200) return this.failedAnswer(response.statusCode, await readText(response.body, signal));
    if (!String(response.headers['content-type'] ?? '').includes('text/event-stream')) {
      return this.logged(pingFromBody(await readText(response.body, signal)), 'non-stream answer');
    }
    const payload = await readFirstPayload(response.body, signal);
    if (payload === undefined) return this.logged({ kind: 'dead', reason: 'the node ended the stream without an answer' }, 'empty stream');
    return this.logged(pingFromEvent(payload), eventErrorText(payload) ?? '');
  }

  private failedAnswer(status: number, text: string): PingResult {
    const message = errorMessageFromBody(text);
    const fields = { operation: 'chat', upstreamStatus: status, upstreamError: this.redaction.scrub(message) };
    // Refused credentials are the gateway's misconfiguration, not the session's death: the
    // caller's handler logs that failure; a ping outcome is logged here, once.
    if (status === 401 || status === 403)
      throw new ProviderUpstreamError("proxy-router refused the gateway's credentials").withLogFields(fields);
    const result: PingResult = isBackendBusy(status, text) ? { kind: 'busy' } : pingFailure(message, status);
    this.logger.warn({ ...fields, result: result.kind }, 'proxy-router ping answered with an error');
    return result;
  }

  private logged(result: PingResult, upstream: string): PingResult {
    if (result.kind === 'dead' || result.kind === 'expired') {
      this.logger.warn({ operation: 'chat', result: result.kind, error: this.redaction.scrub(upstream) }, 'proxy-router ping failed');
    }
    return result;
  }
}
