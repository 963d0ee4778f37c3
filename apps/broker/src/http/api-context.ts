import type { AmqpConnectionInfo } from '@conveyor/amqp';
import type { BridgeStatus } from '@conveyor/bridge';
import type { Broker, VirtualHost } from '@conveyor/core';
import type { MqttConnectionInfo } from '@conveyor/mqtt';
import type { BrokerMetrics } from '../metrics.js';
import type { DeliveryRegistry } from './delivery-registry.js';
import { badRequest } from './http-errors.js';

export type ConnectionInfo = AmqpConnectionInfo | MqttConnectionInfo;

/** What the management API reads and acts on. */
export interface ApiContext {
  readonly broker: Broker;
  readonly metrics: BrokerMetrics;
  readonly deliveries: DeliveryRegistry;
  /** Every open AMQP and MQTT connection. */
  connections(): ConnectionInfo[];
  /** The configured bridges' status. */
  bridges(): readonly BridgeStatus[];
  readonly store: string;
  readonly startedAt: number;
  readonly version: string;
}

export function vhostOf(ctx: ApiContext, name: string | undefined): VirtualHost {
  return ctx.broker.vhost(name ?? '/');
}

// ------------------------------------------------------------------ body field readers

type Body = Record<string, unknown>;

export function optionalNumber(
  body: Body,
  key: string,
  check: (n: number) => boolean,
  must: string,
): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !check(value)) throw badRequest(`'${key}' must be ${must}`);
  return value;
}

export function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`'${key}' must be a string`);
  return value;
}

export function optionalBoolean(body: Body, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`'${key}' must be true or false`);
  return value;
}

export const positiveInteger = (n: number): boolean => Number.isInteger(n) && n > 0;
export const nonNegative = (n: number): boolean => Number.isFinite(n) && n >= 0;
export const positive = (n: number): boolean => Number.isFinite(n) && n > 0;
