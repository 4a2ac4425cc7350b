import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import type { ValidationIssue } from '../common/errors';
import type { NatsConnectionConfig } from '../config/app-config';
import { natsConnectOptions } from '../messaging/nats-connection';
import type { ModelListResponseDto } from '../models/dto/models.dto';
import type { CloseResponseDto, CurrentSessionDto, PingResponseDto, SessionCreatedDto } from '../session/dto/session-response.dto';

/**
 * How to reach the gateway's internal interface (docs/API.md §6). Over NATS, at most one
 * credential (`user`/`password`, `token`, a `.creds` file, or `user:password@` in `url`)
 * and TLS files, as the gateway's own NATS_* variables.
 */
export type SessionGatewayClientOptions =
  | ({
      transport: 'nats';
      url: string;
      timeoutMs?: number;
      /** Replies arrive under `<inboxPrefix>.…` (default `_INBOX`): lets NATS permissions keep services' replies apart. */
      inboxPrefix?: string;
    } & NatsConnectionConfig)
  | { transport: 'tcp'; host: string; port: number; timeoutMs?: number };

export interface ModelSessionRequest {
  model_id: string;
  sessionDuration?: number;
  directPayment?: boolean;
  failover?: boolean;
}

export interface BidSessionRequest {
  bid_id: string;
  sessionDuration?: number;
}

/**
 * A failed call: the HTTP status, detail and stable code (docs/API.md §1) the gateway would
 * have answered over HTTP. When the gateway itself cannot be reached or does not answer in
 * time, the code is `gateway_unavailable` (503) or `gateway_timeout` (504).
 */
export class SessionGatewayError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | ValidationIssue[],
    readonly code: string,
  ) {
    super(typeof detail === 'string' ? detail : `request validation failed (${detail.length} problem(s))`);
    this.name = 'SessionGatewayError';
  }
}

const PROXY = Symbol('SESSION_GATEWAY_PROXY');
const TIMEOUT = Symbol('SESSION_GATEWAY_TIMEOUT');
/** An open can take as long as the gateway's SESSION_OPEN_TIMEOUT_MS (default 180 s). */
const DEFAULT_TIMEOUT_MS = 200_000;

/**
 * A typed client for other NestJS services: one method per message pattern. Every call
 * takes the caller's credential (`Bearer …` or a bare `sk-…`), as HTTP would.
 */
@Injectable()
export class SessionGatewayClient implements OnApplicationShutdown {
  constructor(
    @Inject(PROXY) private readonly proxy: ClientProxy,
    @Inject(TIMEOUT) private readonly timeoutMs: number,
  ) {}

  createModelSession(authorization: string, request: ModelSessionRequest): Promise<SessionCreatedDto> {
    return this.send('session.create_model', { ...request, authorization });
  }

  createBidSession(authorization: string, request: BidSessionRequest): Promise<SessionCreatedDto> {
    return this.send('session.create_bid', { ...request, authorization });
  }

  getSession(authorization: string): Promise<CurrentSessionDto> {
    return this.send('session.get', { authorization });
  }

  pingSession(authorization: string): Promise<PingResponseDto> {
    return this.send('session.ping', { authorization });
  }

  closeSession(authorization: string): Promise<CloseResponseDto> {
    return this.send('session.close', { authorization });
  }

  listModels(authorization: string): Promise<ModelListResponseDto> {
    return this.send('models.list', { authorization });
  }

  private async send<T>(pattern: string, payload: Record<string, unknown>): Promise<T> {
    try {
      return await firstValueFrom(this.proxy.send<T>(pattern, payload).pipe(timeout(this.timeoutMs)));
    } catch (error) {
      throw toGatewayError(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.proxy.close();
  }
}

/** The gateway's answer as it would be over HTTP; transport failures (no gateway, no broker) are a 503. */
function toGatewayError(error: unknown): Error {
  const { status, detail, code } = (error ?? {}) as { status?: unknown; detail?: unknown; code?: unknown };
  if (typeof status === 'number' && (typeof detail === 'string' || Array.isArray(detail))) {
    // A gateway older than the codes sends none: the generic one of its status.
    return new SessionGatewayError(status, detail as string | ValidationIssue[], typeof code === 'string' ? code : `http_${status}`);
  }
  if (error instanceof TimeoutError) return new SessionGatewayError(504, 'The session gateway did not answer in time', 'gateway_timeout');
  const reason = error instanceof Error ? error.message : String(error);
  return new SessionGatewayError(503, `The session gateway cannot be reached: ${reason}`, 'gateway_unavailable');
}

function proxyFor(options: SessionGatewayClientOptions): ClientProxy {
  if (options.transport === 'tcp') {
    return ClientProxyFactory.create({ transport: Transport.TCP, options: { host: options.host, port: options.port } });
  }
  const { url, user, password, token, credsFile, tls, inboxPrefix } = options;
  // Reconnect forever: nats.js's default (10 attempts) would leave the client dead after a short outage.
  return ClientProxyFactory.create({
    transport: Transport.NATS,
    options: { ...natsConnectOptions(url, { user, password, token, credsFile, tls }), waitOnFirstConnect: false, inboxPrefix },
  });
}

@Module({})
export class SessionGatewayClientModule {
  static register(options: SessionGatewayClientOptions): DynamicModule {
    return {
      module: SessionGatewayClientModule,
      providers: [
        { provide: PROXY, useFactory: () => proxyFor(options) },
        { provide: TIMEOUT, useValue: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
        SessionGatewayClient,
      ],
      exports: [SessionGatewayClient],
    };
  }
}
