import { isLosslessNumber, parse } from 'lossless-json';
import type { Page } from './marketplace';
import { badRequest } from './sim-error';

/*
 * Parameter parsing with the node's 400 messages (gin binding + go-playground/validator
 * wording). The exact texts are approximations; the status and the `{"error"}` shape are not.
 */

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^\d+$/;
const INT = /^-?\d+$/;
/** `limit` is a uint8 in the node: 255 at most. */
const MAX_LIMIT = 255;

const validation = (struct: string, field: string, tag: string): string =>
  `Key: '${struct}.${field}' Error:Field validation for '${field}' failed on the '${tag}' tag`;

/** A path id (`lib.Hash`): 0x + 64 hex digits, any case; returned lower-case. */
export function parseHexId(raw: string): string {
  const id = decodeURIComponent(raw);
  if (!HEX32.test(id)) throw badRequest(validation('PathHex32ID', 'ID', 'hex32'));
  return id.toLowerCase();
}

export function parseUserQuery(query: URLSearchParams): string {
  const user = query.get('user');
  if (!user) throw badRequest(validation('QueryUser', 'User', 'required'));
  if (!ADDRESS.test(user)) throw badRequest(validation('QueryUser', 'User', 'eth_addr'));
  return user.toLowerCase();
}

function parseLimit(raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  if (!UINT.test(raw)) throw badRequest(`strconv.ParseUint: parsing "${raw}": invalid syntax`);
  const limit = Number(raw);
  if (limit > MAX_LIMIT) throw badRequest(`strconv.ParseUint: parsing "${raw}": value out of range`);
  return limit;
}

function parseOffset(raw: string | null, struct: string): number {
  if (raw === null || raw === '') return 0;
  if (!INT.test(raw)) throw badRequest(`math/big: cannot unmarshal "${raw}" into a *big.Int`);
  if (raw.startsWith('-')) throw badRequest(validation(struct, 'Offset', 'gte'));
  return Number(raw);
}

function parseOrder(raw: string | null, struct: string): 'asc' | 'desc' {
  if (raw === null || raw === '' || raw === 'asc') return 'asc';
  if (raw === 'desc') return 'desc';
  throw badRequest(validation(struct, 'Order', 'oneof'));
}

/** `offset` (default 0), `limit` (default 10, max 255), `order` (asc|desc, default asc). */
export function parsePage(query: URLSearchParams): Page {
  const struct = 'QueryOffsetLimitOrder';
  const order = parseOrder(query.get('order'), struct);
  return { offset: parseOffset(query.get('offset'), struct), limit: parseLimit(query.get('limit'), 10), order };
}

/**
 * GET /blockchain/models binds `QueryOffsetLimitOrderNoDefault`: without `limit` (or with 0)
 * the node returns every model in one answer (its deprecated, unpaginated mode) — null here.
 */
export function parseModelsPage(query: URLSearchParams): Page | null {
  const struct = 'QueryOffsetLimitOrderNoDefault';
  const order = parseOrder(query.get('order'), struct);
  const offset = parseOffset(query.get('offset'), struct);
  const limit = parseLimit(query.get('limit'), 0);
  return limit === 0 ? null : { offset, limit, order };
}

export interface OpenRequest {
  duration: bigint;
  directPayment: boolean;
  failover: boolean;
}

type JsonObject = Record<string, unknown>;

function parseJsonObject(text: string, goType: string): JsonObject {
  if (text.trim() === '') throw badRequest('EOF');
  let value: unknown;
  try {
    value = parse(text);
  } catch {
    // encoding/json's wording; the parser's own position details are not the node's.
    throw badRequest(`invalid character '${text.trim()[0]}' looking for beginning of value`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    throw badRequest(`json: cannot unmarshal ${kind} into Go value of type structs.${goType}`);
  }
  return value as JsonObject;
}

/** A JSON number (kept lossless) or a string, as its text: how `lib.BigInt` and the uints read either. */
function numberText(raw: unknown): string {
  return isLosslessNumber(raw) ? raw.toString() : typeof raw === 'string' ? raw : JSON.stringify(raw);
}

function readDuration(body: JsonObject, goType: string): bigint {
  const raw = body.sessionDuration;
  if (raw === undefined || raw === null) throw badRequest(validation(goType, 'SessionDuration', 'required'));
  // lib.BigInt takes a JSON number or a decimal string, of any size.
  const text = numberText(raw);
  if (!INT.test(text)) throw badRequest(`math/big: cannot unmarshal ${JSON.stringify(text)} into a *big.Int`);
  return BigInt(text);
}

function readFlag(body: JsonObject, field: 'directPayment' | 'failover', goType: string): boolean {
  const raw = body[field];
  if (raw === undefined || raw === null) return false;
  if (typeof raw === 'boolean') return raw;
  const kind = isLosslessNumber(raw) ? 'number' : typeof raw;
  throw badRequest(`json: cannot unmarshal ${kind} into Go struct field ${goType}.${field} of type bool`);
}

/** Body of POST /blockchain/models/{id}/session (`structs.OpenSessionWithFailover`). */
export function parseOpenByModelBody(text: string): OpenRequest {
  const goType = 'OpenSessionWithFailover';
  const body = parseJsonObject(text, goType);
  return {
    duration: readDuration(body, goType),
    directPayment: readFlag(body, 'directPayment', goType),
    failover: readFlag(body, 'failover', goType),
  };
}

/** Body of POST /blockchain/bids/{id}/session: only `sessionDuration`; other fields are ignored. */
export function parseOpenByBidBody(text: string): OpenRequest {
  const goType = 'OpenSessionWithDurationRequest';
  const body = parseJsonObject(text, goType);
  return { duration: readDuration(body, goType), directPayment: false, failover: false };
}

/** `iterations` (1..255: how many on-hold entries the contract scans); default 1 when absent. */
function readIterations(raw: unknown, struct: string): number {
  if (raw === undefined || raw === null || raw === '') return 1;
  const text = numberText(raw);
  if (!UINT.test(text)) throw badRequest(`strconv.ParseUint: parsing "${text}": invalid syntax`);
  const n = Number(text);
  if (n < 1) throw badRequest(validation(struct, 'Iterations', 'gte'));
  if (n > MAX_LIMIT) throw badRequest(validation(struct, 'Iterations', 'lte'));
  return n;
}

/** Query of GET /blockchain/stakes/onhold. */
export function parseIterationsQuery(query: URLSearchParams): number {
  return readIterations(query.get('iterations'), 'QueryIterations');
}

/** Body of POST /blockchain/stakes/withdraw (`structs.WithdrawStakesReq`). */
export function parseWithdrawBody(text: string): number {
  const goType = 'WithdrawStakesReq';
  return readIterations(parseJsonObject(text, goType).iterations, goType);
}
