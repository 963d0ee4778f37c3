import { Injectable } from '@nestjs/common';
import { ConveyorClient } from './conveyor-client.js';

/** The shape `@nestjs/terminus` reads: `{ [key]: { status: 'up' | 'down', ... } }`. */
export type ConveyorHealthResult<K extends string> = Record<
  K,
  { status: 'up' | 'down'; mode?: string; message?: string }
>;

/**
 * A health indicator for `@nestjs/terminus` (`health.check([() => conveyor.isHealthy('conveyor')])`)
 * that needs no import of terminus: up when the client's link to the broker is up.
 */
@Injectable()
export class ConveyorHealthIndicator {
  constructor(private readonly client: ConveyorClient) {}

  async isHealthy<K extends string>(key: K): Promise<ConveyorHealthResult<K>> {
    try {
      const link = await this.client.connect();
      const status = link.connected ? 'up' : 'down';
      return { [key]: { status, mode: link.mode } } as ConveyorHealthResult<K>;
    } catch (err) {
      return {
        [key]: { status: 'down', message: err instanceof Error ? err.message : String(err) },
      } as ConveyorHealthResult<K>;
    }
  }
}
