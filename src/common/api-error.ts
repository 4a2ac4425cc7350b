import { HttpException } from '@nestjs/common';
import { DomainError, RequestValidationError, ValidationIssue } from './errors';

/** The OpenAI error `type` of docs/API.md §1's table, chosen by status. */
export type ApiErrorType =
  'invalid_request_error' | 'authentication_error' | 'insufficient_quota' | 'permission_error' | 'rate_limit_error' | 'api_error';

/** The OpenAI-style object every error body carries beside `detail`, so OpenAI SDKs read it too. */
export interface ApiErrorObject {
  message: string;
  type: ApiErrorType;
  param: string | null;
  code: string;
}

export interface ApiErrorBody {
  detail: string | ValidationIssue[];
  error: ApiErrorObject;
}

/** What the caller receives for a failure: a status, a stable code and the body of docs/API.md §1. */
export interface ApiError {
  status: number;
  code: string;
  body: ApiErrorBody;
  /** A failure we did not foresee (a bug, a broken dependency): logged with its stack. */
  unexpected: boolean;
}

/** A framework answer's detail and code (no domain error behind it). */
const FRAMEWORK: Record<number, { detail: string; code: string }> = {
  400: { detail: 'Bad request', code: 'bad_request' },
  401: { detail: 'Not authenticated', code: 'invalid_credentials' },
  403: { detail: 'Forbidden', code: 'forbidden' },
  404: { detail: 'Not Found', code: 'unsupported_route' },
  405: { detail: 'Method Not Allowed', code: 'method_not_allowed' },
  406: { detail: 'Not Acceptable', code: 'not_acceptable' },
  408: { detail: 'Request timeout', code: 'request_timeout' },
  409: { detail: 'Conflict', code: 'conflict' },
  413: { detail: 'Request body too large (limit 64 KiB)', code: 'body_too_large' },
  414: { detail: 'URI too long', code: 'uri_too_long' },
  415: { detail: 'Unsupported media type: send application/json', code: 'unsupported_media_type' },
  429: { detail: 'Too many requests', code: 'rate_limited' },
  431: { detail: 'Request headers too large', code: 'headers_too_large' },
  500: { detail: 'Internal server error', code: 'internal_error' },
  503: { detail: 'Service unavailable', code: 'service_unavailable' },
};

/** docs/API.md §1: the OpenAI `type` follows the status. */
export function errorTypeFor(status: number): ApiErrorType {
  if (status >= 500) return 'api_error';
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'insufficient_quota';
    case 403:
      return 'permission_error';
    case 429:
      return 'rate_limit_error';
    default:
      return 'invalid_request_error';
  }
}

function answer(status: number, code: string, detail: string | ValidationIssue[], unexpected = false): ApiError {
  // docs/API.md §9: for a 422 the OpenAI message and param are the first issue's.
  const first = typeof detail === 'string' ? undefined : detail[0];
  const error: ApiErrorObject = {
    message: typeof detail === 'string' ? detail : (first?.msg ?? 'Request validation failed'),
    type: errorTypeFor(status),
    param: first ? first.loc.join('.') : null,
    code,
  };
  return { status, code, body: { detail, error }, unexpected };
}

const validation = (issues: ValidationIssue[]): ApiError => answer(422, 'validation_error', issues);

function framework(status: number, detail?: string): ApiError {
  const known = FRAMEWORK[status] ?? FRAMEWORK[status >= 500 ? 500 : 400];
  return answer(status, known.code, detail ?? known.detail, status >= 500);
}

/** Fastify raises these before Nest sees the request (body parsing, limits). */
function fromFastify(code: string, statusCode: number, message: string): ApiError {
  switch (code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return validation([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return validation([{ loc: ['body'], msg: `Invalid JSON: ${message}`, type: 'json_invalid' }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return framework(413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return framework(415);
    default:
      return framework(statusCode >= 400 && statusCode < 600 ? statusCode : 500);
  }
}

function fromHttpException(exception: HttpException): ApiError {
  const status = exception.getStatus();
  const response = exception.getResponse();
  // Nest's own exceptions carry `{message, error, statusCode}`; keep a string message.
  const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  // Framework texts for these (a route path, Fastify's wording) are replaced by ours.
  const ours = [404, 405, 413, 414, 415, 431].includes(status) || status >= 500;
  const generic = ours ? undefined : typeof message === 'string' ? message : undefined;
  return framework(status, generic);
}

/** The one mapping from anything thrown to what the caller sees, for HTTP, messages and Swagger examples. */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof RequestValidationError) return validation(exception.issues);
  if (exception instanceof DomainError) return answer(exception.status, exception.code, exception.detail);
  if (exception instanceof HttpException) return fromHttpException(exception);
  const fastify = exception as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof fastify?.code === 'string' && fastify.code.startsWith('FST_') && typeof fastify.statusCode === 'number') {
    return fromFastify(fastify.code, fastify.statusCode, typeof fastify.message === 'string' ? fastify.message : '');
  }
  const clientStatus = clientErrorStatusOf(exception);
  if (clientStatus) return framework(clientStatus);
  return framework(500);
}

/**
 * The 4xx status a foreign error carries as `statusCode` (Node's and Fastify's convention:
 * a client that aborts its upload mid-body is `aborted`, 400): the client's fault, not a bug.
 */
export function clientErrorStatusOf(exception: unknown): number | undefined {
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500 ? status : undefined;
}

/** A message's failure (docs/API.md §6): the HTTP status, detail and code, without the OpenAI object. */
export interface RpcErrorBody {
  status: number;
  detail: string | ValidationIssue[];
  code: string;
}

export function toRpcError(exception: unknown): RpcErrorBody {
  const { status, code, body } = toApiError(exception);
  return { status, detail: body.detail, code };
}
