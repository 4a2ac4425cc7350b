import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { AppConfig } from '../config/app-config';
import { boundedJsonSocket, GatewayNatsServer } from './message-limits';
import { natsConnectOptions } from './nats-connection';

/** The queue group: N instances share the load and each message is handled once. */
export const QUEUE_GROUP = 'session-gateway';

/** A frame still incomplete after this closes its connection (a peer that stops mid-frame holds nothing long). */
export const TCP_INCOMPLETE_FRAME_TIMEOUT_MS = 5_000;

/** NATS connection options of the gateway (listener and event relay): its credential, TLS, endless reconnects. */
export function natsConnectionOptions(config: AppConfig) {
  const { natsUrl, nats } = config.microservice;
  if (!natsUrl) throw new Error('NATS_URL is not set');
  return natsConnectOptions(natsUrl, nats);
}

/**
 * docs/API.md §6: NATS when NATS_URL is set, else TCP on MICROSERVICE_HOST:MICROSERVICE_PORT;
 * both refuse messages over MESSAGE_MAX_BYTES.
 */
export function microserviceOptionsFor(config: AppConfig): MicroserviceOptions {
  const { natsUrl, host, port, messageMaxBytes } = config.microservice;
  if (natsUrl) {
    return { strategy: new GatewayNatsServer({ ...natsConnectionOptions(config), queue: QUEUE_GROUP }, messageMaxBytes) };
  }
  return {
    transport: Transport.TCP,
    options: { host, port, socketClass: boundedJsonSocket(messageMaxBytes, TCP_INCOMPLETE_FRAME_TIMEOUT_MS) },
  };
}
