import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimOperation } from './fault-plan';
import type { WireValue } from './wire';

export interface RouteInput {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The pattern's capture groups (path parameters, still URL-encoded). */
  params: string[];
}

export interface JsonReply {
  status: number;
  body: WireValue;
}

/**
 * A JSON route parses the request first (400s are thrown there) and returns its effect, run
 * once the operation's latency has passed — for writes, the moment the transaction "lands".
 */
export interface JsonRoute {
  kind: 'json';
  method: 'GET' | 'POST';
  pattern: RegExp;
  op: SimOperation;
  /** Open to anyone even when basic auth is on (the node's healthcheck has no auth). */
  public?: boolean;
  prepare(input: RouteInput): Promise<() => JsonReply> | (() => JsonReply);
}

/** A streaming route owns the response; it applies the latency itself (inside its queue turn). */
export interface StreamRoute {
  kind: 'stream';
  method: 'POST';
  pattern: RegExp;
  op: SimOperation;
  public?: false;
  prepare(input: RouteInput): Promise<StreamRun>;
}

export type StreamRun = (latencyMs: number) => Promise<void>;
export type Route = JsonRoute | StreamRoute;

export const ok = (body: WireValue): JsonReply => ({ status: 200, body });

export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}
