import { Logger, type LoggerService, type OnModuleDestroy } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { OutcomeUnknownError, ProviderUnreachableError, ProviderUpstreamError, type WriteOperation } from './errors';
import { classifyNodeMessage, readFailure, writeFailure } from './node-errors';
import { collectPages } from './pagination';
import { NodeAdapter } from './node.adapter';
import type {
  Bid,
  Model,
  OnChainSession,
  OpenByBidOptions,
  OpenByModelOptions,
  PingResult,
  RatedBid,
  StakesOnHold,
  WalletBalance,
  WalletReadOptions,
} from './node.types';
import { type Deadlines, ProxyRouterClient, type ResilienceOptions } from './proxy-router.client';
import { type EndpointSettings, endpointFrom } from './proxy-router.endpoint';
import { MAX_PAGE_SIZE, NodePaths } from './proxy-router.paths';
import * as wire from './proxy-router.wire';
import { Redaction } from './redaction';
import { SessionPing } from './session-ping';
import { type NodeAnswer, type NodeRequest, TransportFailure } from './transport';
import { WireFormatError } from './wire-values';

export type ProxyRouterSettings = EndpointSettings & { timeoutMs: number; sessionOpenTimeoutMs: number };

export interface ProxyRouterAdapterOptions extends ResilienceOptions {
  /** Items per page of the node's listings (its maximum, 255, by default). */
  pageSize?: number;
  logger?: Pick<LoggerService, 'warn'>;
}

const isSuccess = (answer: NodeAnswer): boolean => answer.status >= 200 && answer.status < 300;

/**
 * {@link NodeAdapter} over the proxy-router's HTTP API. Knows its paths and JSON;
 * turns every answer into domain values or typed errors. Upstream texts travel (scrubbed)
 * in an error's `logFields`, for its handler's one log line, and never reach its detail.
 */
export class ProxyRouterAdapter extends NodeAdapter implements OnModuleDestroy {
  private readonly client: ProxyRouterClient;
  private readonly pinger: SessionPing;
  private readonly redaction: Redaction;
  private readonly logger: Pick<LoggerService, 'warn'>;
  private readonly pageSize: number;
  private wallet?: Promise<string>;

  constructor(settings: ProxyRouterSettings, options: ProxyRouterAdapterOptions = {}) {
    super();
    const endpoint = endpointFrom(settings);
    const deadlines: Deadlines = { readMs: settings.timeoutMs, writeMs: settings.sessionOpenTimeoutMs };
    this.logger = options.logger ?? new Logger('ProxyRouter');
    this.redaction = new Redaction(endpoint.secrets);
    this.client = new ProxyRouterClient(endpoint, deadlines, this.logger, options);
    this.pinger = new SessionPing(this.client, this.logger, this.redaction);
    this.pageSize = Math.min(options.pageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  }

  listModels(): Promise<Model[]> {
    const page = (offset: number, limit: number) => this.read('models', NodePaths.models({ offset, limit }), wire.modelsFromBody);
    return this.listing(page, (model) => model.id);
  }

  listBids(modelId: string): Promise<Bid[]> {
    const page = (offset: number, limit: number) => this.read('bids', NodePaths.bids(modelId, { offset, limit }), wire.bidsFromBody);
    return this.listing(page, (bid) => bid.id);
  }

  ratedBids(modelId: string): Promise<RatedBid[]> {
    return this.read('ratedBids', NodePaths.ratedBids(modelId), wire.ratedBidsFromBody);
  }

  getBid(bidId: string): Promise<Bid | null> {
    return this.read('bid', NodePaths.bid(bidId), wire.bidFromBody);
  }

  async getSession(sessionId: string): Promise<OnChainSession | null> {
    const request = get('session', NodePaths.session(sessionId));
    const answer = await this.client.read(request);
    if (isSuccess(answer)) return this.parse(request, answer, wire.sessionFromBody);
    // The node answers an unknown id with a 500 "session not found".
    if (classifyNodeMessage(wire.errorMessageFromBody(answer.text)) === 'session_not_found') return null;
    throw this.failedRead(request, answer);
  }

  walletAddress(): Promise<string> {
    // The wallet never changes while the node runs; a failed lookup is not remembered.
    this.wallet ??= this.read('wallet', NodePaths.wallet(), wire.walletAddressFromBody).catch((error: unknown) => {
      this.wallet = undefined;
      throw error;
    });
    return this.wallet;
  }

  async walletSessions(options: WalletReadOptions = {}): Promise<OnChainSession[]> {
    const user = await this.walletAddress();
    const { openedSince, limit } = options;
    const pageSize = Math.min(limit ?? this.pageSize, this.pageSize);
    const page = (offset: number, size: number) =>
      this.read('userSessions', NodePaths.userSessions(user, { offset, limit: size, order: 'desc' }), wire.sessionsFromBody);
    let read = 0;
    // Newest first: once a whole page opened before the horizon, every later page did too.
    const isLast = (items: OnChainSession[]) =>
      (read += items.length) >= (limit ?? Infinity) || (openedSince !== undefined && items.every((s) => s.openedAt < openedSince));
    const sessions = await this.readable('listing', () => collectPages(page, (s) => s.id, pageSize, undefined, isLast));
    return limit === undefined ? sessions : sessions.slice(0, limit);
  }

  openSessionByModel(modelId: string, options: OpenByModelOptions): Promise<string> {
    // The node's own failover would replace the session behind the gateway's back: it is
    // always off; the caller's flag means the gateway's failover (docs/API.md §5).
    const body = { sessionDuration: options.sessionDuration, directPayment: options.directPayment, failover: false };
    return this.open(post('openModel', NodePaths.openByModel(modelId), body));
  }

  openSessionByBid(bidId: string, options: OpenByBidOptions): Promise<string> {
    return this.open(post('openBid', NodePaths.openByBid(bidId), { sessionDuration: options.sessionDuration }));
  }

  async closeSession(sessionId: string): Promise<{ alreadyClosed: boolean }> {
    const request = post('close', NodePaths.close(sessionId));
    const answer = await this.write(request, 'close');
    if (isSuccess(answer)) return { alreadyClosed: false };
    const message = wire.errorMessageFromBody(answer.text);
    // The node closes expired sessions itself: meeting its close is our success.
    if (classifyNodeMessage(message) === 'already_closed') return { alreadyClosed: true };
    throw this.failedWrite(request, answer, 'close');
  }

  balance(): Promise<WalletBalance> {
    return this.read('balance', NodePaths.balance(), wire.balanceFromBody);
  }

  sessionsBudget(): Promise<bigint> {
    return this.read('sessionsBudget', NodePaths.sessionsBudget(), wire.sessionsBudgetFromBody);
  }

  tokenSupply(): Promise<bigint> {
    return this.read('tokenSupply', NodePaths.tokenSupply(), wire.tokenSupplyFromBody);
  }

  async stakesOnHold(iterations: number): Promise<StakesOnHold> {
    return this.read('stakesOnHold', NodePaths.stakesOnHold(checkIterations(iterations)), wire.stakesOnHoldFromBody);
  }

  async withdrawStakes(iterations: number): Promise<string> {
    const request = post('withdrawStakes', NodePaths.withdrawStakes(), { iterations: checkIterations(iterations) });
    const answer = await this.write(request, 'withdraw');
    if (!isSuccess(answer)) throw this.failedWrite(request, answer, 'withdraw');
    // The node says it was sent; a hash we cannot read leaves us not knowing what landed.
    const lost = () => new OutcomeUnknownError('withdraw', 'unreadable_answer');
    return this.readable(request.operation, async () => wire.txFromBody(answer.text), lost);
  }

  ping(sessionId: string, timeoutMs: number): Promise<PingResult> {
    return this.pinger.run(sessionId, timeoutMs);
  }

  async health(): Promise<void> {
    const request = get('health', NodePaths.health());
    const answer = await this.client.probe(request);
    if (!isSuccess(answer)) throw this.failedRead(request, answer);
  }

  override circuitState(): 'closed' | 'open' | 'half_open' {
    return this.client.circuit;
  }

  async onModuleDestroy(): Promise<void> {
    await this.client.close();
  }

  private listing<T>(page: (offset: number, limit: number) => Promise<T[]>, idOf: (item: T) => string): Promise<T[]> {
    return this.readable('listing', () => collectPages(page, idOf, this.pageSize));
  }

  private async read<T>(operation: string, path: string, parse: (text: string) => T): Promise<T> {
    const request = get(operation, path);
    const answer = await this.client.read(request);
    if (!isSuccess(answer)) throw this.failedRead(request, answer);
    return this.parse(request, answer, parse);
  }

  private async open(request: NodeRequest): Promise<string> {
    const answer = await this.write(request, 'open');
    if (!isSuccess(answer)) throw this.failedWrite(request, answer, 'open');
    // The node says the session is open; an id we cannot read means we lost track of it.
    const lost = () => new OutcomeUnknownError('open', 'unreadable_answer');
    return this.readable(request.operation, async () => wire.sessionIdFromBody(answer.text), lost);
  }

  /** Sends a write once; maps "no answer" by whether the write could have reached the node. */
  private async write(request: NodeRequest, operation: WriteOperation): Promise<NodeAnswer> {
    try {
      return await this.client.write(request);
    } catch (error) {
      if (!(error instanceof TransportFailure)) throw error;
      const fields = this.client.failureFields(request, error);
      if (error.kind === 'refused') throw new ProviderUnreachableError().withLogFields(fields);
      throw new OutcomeUnknownError(operation, error.kind === 'timeout' ? 'timeout' : 'connection_lost').withLogFields(fields);
    }
  }

  private parse<T>(request: NodeRequest, answer: NodeAnswer, parse: (text: string) => T): Promise<T> {
    return this.readable(request.operation, async () => parse(answer.text));
  }

  /**
   * Runs `work`; an answer we cannot read becomes a 502 (or `onUnreadable`'s error). The
   * errors here carry their log facts and are logged once, by whoever handles them.
   */
  private async readable<T>(operation: string, work: () => Promise<T>, onUnreadable?: () => DomainError): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      const unreadable = onUnreadable?.() ?? new ProviderUpstreamError('proxy-router sent an answer the gateway cannot read');
      throw unreadable.withLogFields({ operation, problem: error.message });
    }
  }

  private failedRead(request: NodeRequest, answer: NodeAnswer): DomainError {
    return readFailure(answer.status).withLogFields(this.answerFields(request, answer));
  }

  private failedWrite(request: NodeRequest, answer: NodeAnswer, operation: WriteOperation): DomainError {
    const failure = writeFailure(operation, answer.status, wire.errorMessageFromBody(answer.text));
    return failure.withLogFields(this.answerFields(request, answer));
  }

  /** The node's error text, redacted (it may echo the URL or the gateway's credentials). */
  private answerFields(request: NodeRequest, answer: NodeAnswer): Record<string, unknown> {
    const error = this.redaction.scrub(wire.errorMessageFromBody(answer.text));
    return { operation: request.operation, upstreamStatus: answer.status, upstreamError: error };
  }
}

/** The contract scans 1..255 on-hold entries; anything else is the caller's bug, never sent. */
function checkIterations(iterations: number): number {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 255) throw new RangeError('iterations must be an integer in 1..255');
  return iterations;
}

const get = (operation: string, path: string): NodeRequest => ({ operation, method: 'GET', path });
const post = (operation: string, path: string, body?: Record<string, unknown>): NodeRequest => ({ operation, method: 'POST', path, body });
