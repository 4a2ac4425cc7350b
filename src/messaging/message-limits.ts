import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { JsonSocket, ServerNats, type Deserializer, type NatsOptions } from '@nestjs/microservices';
import type { Msg } from 'nats';
import { toRpcError } from '../common/api-error';
import { DomainError, RequestValidationError } from '../common/errors';
import { nestedDeeperThan, notJsonIssue, tooDeepIssue } from '../common/validation/depth';

/** A message over MESSAGE_MAX_BYTES (docs/API.md §6). */
export class MessageTooLargeError extends DomainError {
  readonly status = 413;
  readonly code: string = 'message_too_large';

  constructor(limit: number) {
    super(`Message too large (limit ${limit} bytes)`);
  }
}

const tooDeep = () => new RequestValidationError([tooDeepIssue('payload')]);
const notJson = () => new RequestValidationError([notJsonIssue('payload')]);

/** The part of a request packet these checks look at. */
interface Packet {
  id?: unknown;
  pattern?: unknown;
  data?: unknown;
}

const asPacket = (value: unknown): Packet => (value !== null && typeof value === 'object' ? value : {});

/**
 * The TCP framing of @nestjs/microservices (`<length>#<json>`), bounded: a frame that
 * declares, or turns out to have, more than `maxBytes` is never buffered further — the
 * connection is destroyed at once (the default buffers 128 M characters, then parses them).
 * A frame left incomplete for `incompleteTimeoutMs` closes the connection too. A payload
 * nested too deeply is answered 422 without reaching the handlers (class-transformer
 * would overflow its stack on it).
 */
export function boundedJsonSocket(maxBytes: number, incompleteTimeoutMs: number): new (socket: Socket) => JsonSocket {
  const logger = new Logger('MessagingTcp');
  return class BoundedJsonSocket extends JsonSocket {
    private pending = '';
    private declared: number | null = null;
    private incompleteTimer: NodeJS.Timeout | null = null;

    constructor(socket: Socket) {
      // The send side keeps JsonSocket's own bounds (backpressure, queued-reply limit).
      super(socket, { maxBufferSize: maxBytes, incompleteMessageTimeout: incompleteTimeoutMs });
      socket.on('close', () => this.clearIncompleteTimer());
    }

    protected override handleData(data: Buffer | string): void {
      if (this.socket.destroyed) return;
      this.pending += typeof data === 'string' ? data : data.toString('utf8');
      this.clearIncompleteTimer();
      for (;;) {
        if (this.declared === null) {
          const hash = this.pending.indexOf('#');
          if (hash === -1) {
            // A length prefix never needs more than a few digits.
            if (this.pending.length > 20) return this.refuse('a frame without a valid length');
            break;
          }
          const prefix = this.pending.slice(0, hash);
          if (!/^\d{1,16}$/.test(prefix)) return this.refuse('a frame without a valid length');
          this.declared = Number(prefix);
          this.pending = this.pending.slice(hash + 1);
          // Characters are at least one byte each: over the limit in characters is over it in bytes.
          if (this.declared > maxBytes) return this.refuse(`a frame of ${this.declared} characters`);
        }
        if (this.pending.length < this.declared) break;
        const frame = this.pending.slice(0, this.declared);
        this.pending = this.pending.slice(this.declared);
        this.declared = null;
        if (Buffer.byteLength(frame, 'utf8') > maxBytes) return this.refuse(`a frame over ${maxBytes} bytes`);
        this.dispatch(frame);
        if (this.socket.destroyed) return;
      }
      if (this.pending.length > 0 || this.declared !== null) {
        this.incompleteTimer = setTimeout(() => this.refuse('an incomplete frame (timed out)'), incompleteTimeoutMs);
        this.incompleteTimer.unref();
      }
    }

    /** Parses one frame and hands it to the server, or answers it here when it must not go further. */
    private dispatch(frame: string): void {
      let message: unknown;
      try {
        message = JSON.parse(frame);
      } catch {
        return this.refuse('a frame that is not JSON');
      }
      const packet = asPacket(message);
      if (nestedDeeperThan(packet.data)) {
        // Events (no id) get no answer; requests get the 422 HTTP would give.
        if (packet.id !== undefined) this.sendMessage({ id: packet.id, err: toRpcError(tooDeep()), isDisposed: true });
        return;
      }
      this.socket.emit('message', message || {});
    }

    private refuse(what: string): void {
      logger.warn(`closed a connection from ${this.socket.remoteAddress ?? 'unknown'}: ${what} (MESSAGE_MAX_BYTES ${maxBytes})`);
      this.pending = '';
      this.declared = null;
      this.clearIncompleteTimer();
      this.socket.destroy();
    }

    private clearIncompleteTimer(): void {
      if (this.incompleteTimer) clearTimeout(this.incompleteTimer);
      this.incompleteTimer = null;
    }
  };
}

/** Payloads already decoded by `GatewayNatsServer.handleMessage`, so each is parsed once. */
const decoded = new WeakMap<Uint8Array, unknown>();

/** Nest's request deserializer for NATS, reading the packet decoded by the size and depth checks. */
class DecodedRequestDeserializer implements Deserializer {
  deserialize(value: Uint8Array, options?: Record<string, unknown>): unknown {
    const packet = decoded.has(value) ? decoded.get(value) : (JSON.parse(new TextDecoder().decode(value)) as unknown);
    const { pattern, data } = asPacket(packet);
    // As Nest's IncomingRequestDeserializer: a foreign message (no pattern, no data) is the data.
    if (pattern !== undefined || data !== undefined) return packet;
    return { pattern: options?.channel, data: packet };
  }
}

/**
 * Nest's NATS listener with the same limits as TCP: a payload over `maxBytes`, one that is
 * not JSON or one nested too deeply is answered with an RPC error (when it has a reply
 * subject) and never reaches the handlers.
 */
export class GatewayNatsServer extends ServerNats {
  constructor(
    options: NatsOptions['options'],
    private readonly maxBytes: number,
  ) {
    super({ ...options, deserializer: new DecodedRequestDeserializer() });
  }

  override async handleMessage(channel: string, natsMsg: Msg): Promise<unknown> {
    if (natsMsg.data.length > this.maxBytes) return this.refuse(natsMsg, undefined, new MessageTooLargeError(this.maxBytes));
    let packet: unknown;
    try {
      packet = JSON.parse(new TextDecoder().decode(natsMsg.data));
    } catch {
      return this.refuse(natsMsg, undefined, notJson());
    }
    const { id, data } = asPacket(packet);
    if (nestedDeeperThan(data)) return this.refuse(natsMsg, id, tooDeep());
    decoded.set(natsMsg.data, packet);
    return super.handleMessage(channel, natsMsg);
  }

  private refuse(natsMsg: Msg, id: unknown, error: DomainError): void {
    // Without a reply subject it was an event: nobody waits for an answer.
    if (!natsMsg.reply) return;
    // The client matches a reply by its inbox; an empty id (not JSON, too large) passes its id check.
    const reply = { id: typeof id === 'string' ? id : '', err: toRpcError(error), isDisposed: true };
    const { data } = this.serializer.serialize(reply) as {
      data: Uint8Array;
    };
    natsMsg.respond(data);
  }
}
