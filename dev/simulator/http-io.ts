import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WireValue, toWireJson } from './wire';

const MAX_BODY_BYTES = 1 << 20;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** True once the client went away or the answer was sent: nothing more may be written. */
export const isGone = (res: ServerResponse): boolean => res.destroyed || res.writableEnded;

export function sendText(res: ServerResponse, status: number, text: string, type = 'application/json; charset=utf-8'): void {
  if (isGone(res)) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A failure body given as a string is sent verbatim (to script malformed answers). */
export function sendJson(res: ServerResponse, status: number, body: WireValue): void {
  sendText(res, status, typeof body === 'string' ? body : toWireJson(body));
}

/** Waits `ms`; rejects with an AbortError when the simulator stops. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal });
}

export const isAbort = (error: unknown): boolean => error instanceof Error && error.name === 'AbortError';

/** Requests deliberately left unanswered; they end when the client gives up or on release. */
export class HeldResponses {
  private readonly held = new Set<ServerResponse>();

  hold(res: ServerResponse): void {
    this.held.add(res);
    res.once('close', () => this.held.delete(res));
  }

  get size(): number {
    return this.held.size;
  }

  /** Drops every held connection (the client sees a reset, as when the node dies). */
  releaseAll(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }
}
