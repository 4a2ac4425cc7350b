import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { AppConfig } from '../config/app-config';

/** The queue group: N instances share the load and each message is handled once. */
export const QUEUE_GROUP = 'session-gateway';

/** NATS options that survive outages: never give up reconnecting, and wait for the first connection. */
export function natsConnectionOptions(natsUrl: string) {
  return {
    servers: [natsUrl],
    waitOnFirstConnect: true,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  };
}

/** docs/API.md §6: NATS when NATS_URL is set, else TCP on MICROSERVICE_HOST:MICROSERVICE_PORT. */
export function microserviceOptionsFor(config: AppConfig): MicroserviceOptions {
  const { natsUrl, host, port } = config.microservice;
  if (natsUrl) {
    return { transport: Transport.NATS, options: { ...natsConnectionOptions(natsUrl), queue: QUEUE_GROUP } };
  }
  return { transport: Transport.TCP, options: { host, port } };
}
