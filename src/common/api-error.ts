import { HttpException } from '@nestjs/common';
import { DomainError, RequestValidationError, ValidationIssue } from './errors';

/** What the caller receives for a failure: a status and a FastAPI-shaped body. */
export interface ApiError {
  status: number;
  body: { detail: string | ValidationIssue[] };
  /** Unexpected failures are logged with their stack; expected ones are not errors. */
  unexpected: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Not authenticated',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Request body too large (limit 64 KiB)',
  414: 'URI too long',
  415: 'Unsupported media type: send application/json',
  429: 'Too many requests',
  431: 'Request headers too large',
  500: 'Internal server error',
  503: 'Service unavailable',
};

const missingBody = (): ApiError => validation([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);

function validation(issues: ValidationIssue[]): ApiError {
  return { status: 422, body: { detail: issues }, unexpected: false };
}

function plain(status: number, detail?: string): ApiError {
  return { status, body: { detail: detail ?? STATUS_TEXT[status] ?? 'Error' }, unexpected: status >= 500 };
}

/** Fastify raises these before Nest sees the request (body parsing, limits). */
function fromFastify(code: string, statusCode: number, message: string): ApiError {
  switch (code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return missingBody();
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return validation([{ loc: ['body'], msg: `Invalid JSON: ${message}`, type: 'json_invalid' }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return plain(413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return plain(415);
    default:
      return plain(statusCode >= 400 && statusCode < 600 ? statusCode : 500);
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
  return plain(status, generic);
}

export function toApiError(exception: unknown): ApiError {
  if (exception instanceof RequestValidationError) return validation(exception.issues);
  if (exception instanceof DomainError) return plain(exception.status, exception.detail);
  if (exception instanceof HttpException) return fromHttpException(exception);
  const fastify = exception as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof fastify?.code === 'string' && fastify.code.startsWith('FST_') && typeof fastify.statusCode === 'number') {
    return fromFastify(fastify.code, fastify.statusCode, typeof fastify.message === 'string' ? fastify.message : '');
  }
  return plain(500);
}
