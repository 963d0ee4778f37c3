import {
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { ConveyorClient, type ConveyorClientOptions } from './conveyor-client.js';
import { ConveyorHealthIndicator } from './health.js';

export const CONVEYOR_OPTIONS = Symbol.for('conveyor.options');

export interface ConveyorModuleOptions extends ConveyorClientOptions {
  /** Available in every module without importing it again. Default true. */
  isGlobal?: boolean;
}

/** A named client of its own (another connection, vhost or broker), injected with `@Inject(name)`. */
export interface ConveyorFeatureClient extends ConveyorClientOptions {
  name: string | symbol;
}

export interface ConveyorModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: never[]) => ConveyorClientOptions | Promise<ConveyorClientOptions>;
  isGlobal?: boolean;
}

/** Provides an injectable `ConveyorClient` (closed on app shutdown) and `ConveyorHealthIndicator`. */
@Module({})
export class ConveyorModule {
  static forRoot(options: ConveyorModuleOptions = {}): DynamicModule {
    return {
      module: ConveyorModule,
      global: options.isGlobal ?? true,
      providers: [
        { provide: CONVEYOR_OPTIONS, useValue: options },
        {
          provide: ConveyorClient,
          useFactory: (o: ConveyorClientOptions) => new ConveyorClient(o),
          inject: [CONVEYOR_OPTIONS],
        },
        ConveyorHealthIndicator,
      ],
      exports: [ConveyorClient, ConveyorHealthIndicator],
    };
  }

  /**
   * Clients a feature module needs besides the root one — e.g. one on another vhost or broker —
   * each under its `name` (`@Inject('AUDIT') audit: ConveyorClient`), each closed on shutdown.
   */
  static forFeature(clients: readonly ConveyorFeatureClient[]): DynamicModule {
    const providers = clients.map(({ name, ...options }) => ({
      provide: name,
      useFactory: () => new ConveyorClient(options),
    }));
    return { module: ConveyorModule, providers, exports: providers.map((p) => p.provide) };
  }

  static forRootAsync(options: ConveyorModuleAsyncOptions): DynamicModule {
    return {
      module: ConveyorModule,
      global: options.isGlobal ?? true,
      imports: options.imports ?? [],
      providers: [
        { provide: CONVEYOR_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        {
          provide: ConveyorClient,
          useFactory: (o: ConveyorClientOptions) => new ConveyorClient(o),
          inject: [CONVEYOR_OPTIONS],
        },
        ConveyorHealthIndicator,
      ],
      exports: [ConveyorClient, ConveyorHealthIndicator],
    };
  }
}
