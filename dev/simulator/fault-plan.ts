import type { WireValue } from './wire';

/** The simulator's operations: one per node route (the unit of latency, faults and counts). */
export const OPERATIONS = [
  'health',
  'wallet',
  'models',
  'bids',
  'ratedBids',
  'bid',
  'openModel',
  'openBid',
  'close',
  'session',
  'userSessions',
  'chat',
  'balance',
  'budget',
  'supply',
  'onHold',
  'withdraw',
] as const;
export type SimOperation = (typeof OPERATIONS)[number];
export type OperationCounts = Record<SimOperation, number>;

/** On-chain writes: subject to the nonce-conflict mode. */
export const WRITE_OPERATIONS: ReadonlySet<SimOperation> = new Set(['openModel', 'openBid', 'close', 'withdraw']);

export const isOperation = (value: unknown): value is SimOperation =>
  typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);

export interface FailNextOptions {
  /** How many calls fail (default 1). */
  times?: number;
  /** HTTP status (default 500). */
  status?: number;
  /** Message for the node's `{"error": message}` body (e.g. "nonce too low"). */
  error?: string;
  /** A whole body instead (an object is sent as JSON, a string as is). */
  body?: WireValue;
  /**
   * For opens and closes: the write still lands on chain before the failure is answered
   * ("nonce too low" / "already known" after the transaction went through).
   */
  commit?: boolean;
}

export interface HangNextOptions {
  times?: number;
  /** For opens and closes: the write lands on chain, then the answer never comes. */
  commit?: boolean;
}

export interface FailureRule {
  status: number;
  body: WireValue;
  commit: boolean;
}

export interface HangRule {
  commit: boolean;
}

interface Queued<T> {
  rule: T;
  remaining: number;
}

const DEFAULT_FAILURE = 'simulated failure';

function zeroCounts(): OperationCounts {
  return Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as OperationCounts;
}

function take<T>(queues: Map<SimOperation, Array<Queued<T>>>, op: SimOperation): T | undefined {
  const queue = queues.get(op);
  const head = queue?.[0];
  if (!queue || !head) return undefined;
  head.remaining -= 1;
  if (head.remaining <= 0) queue.shift();
  return head.rule;
}

function push<T>(queues: Map<SimOperation, Array<Queued<T>>>, op: SimOperation, rule: T, times = 1): void {
  if (!Number.isInteger(times) || times < 1) throw new RangeError('times must be a positive integer');
  const queue = queues.get(op) ?? [];
  queue.push({ rule, remaining: times });
  queues.set(op, queue);
}

/** Latency, scripted failures and hangs, and call counters, per operation. Pure state. */
export class FaultPlan {
  private readonly latencies = new Map<SimOperation, number>();
  private readonly failures = new Map<SimOperation, Array<Queued<FailureRule>>>();
  private readonly hangs = new Map<SimOperation, Array<Queued<HangRule>>>();
  private calls = zeroCounts();

  setLatency(op: SimOperation, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('latency must be a non-negative number');
    this.latencies.set(op, ms);
  }

  latencyOf(op: SimOperation): number {
    return this.latencies.get(op) ?? 0;
  }

  /** Rules queue up: `failNext(op, {times: 2})` then `failNext(op)` fails the next three calls. */
  failNext(op: SimOperation, options: FailNextOptions = {}): void {
    const status = options.status ?? 500;
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new RangeError('bad status');
    const body = options.body ?? { error: options.error ?? DEFAULT_FAILURE };
    push(this.failures, op, { status, body, commit: options.commit === true }, options.times);
  }

  takeFailure(op: SimOperation): FailureRule | undefined {
    return take(this.failures, op);
  }

  hangNext(op: SimOperation, options: HangNextOptions = {}): void {
    push(this.hangs, op, { commit: options.commit === true }, options.times);
  }

  takeHang(op: SimOperation): HangRule | undefined {
    return take(this.hangs, op);
  }

  count(op: SimOperation): void {
    this.calls[op] += 1;
  }

  counts(): OperationCounts {
    return { ...this.calls };
  }

  resetCounts(): void {
    this.calls = zeroCounts();
  }

  reset(): void {
    this.latencies.clear();
    this.failures.clear();
    this.hangs.clear();
    this.resetCounts();
  }
}
