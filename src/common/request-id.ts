import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const CALLER_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's `x-request-id` when it is safe to echo and log, else a fresh one. */
export function requestIdFor(incoming: IncomingMessage): string {
  // pino's typings give the raw request an `id` of its own (string | number | object).
  const req = incoming as IncomingMessage & { id?: string };
  if (typeof req.id === 'string') return req.id;
  const header = req.headers['x-request-id'];
  const candidate = Array.isArray(header) ? header[0] : header;
  // Stored on the raw request so pino-http (which only sees the raw request) logs the same id.
  req.id = candidate && CALLER_ID.test(candidate) ? candidate : randomUUID();
  return req.id;
}
