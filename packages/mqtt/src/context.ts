import type { Authenticator, Broker, UserAccount, VirtualHost } from '@conveyor/core';
import { type RetainedStore } from './store/retained-store.js';
import type { SessionRegistry } from './session-registry.js';
import type { WillLedger } from './will-ledger.js';
import type { Qos0Direct } from './qos0-direct.js';

/** Who may connect: an account; one with `vhosts` only when they include the server's. */
export type MqttUser = UserAccount;

export interface MqttServerOptions {
  /** Default: guest/guest from loopback only, which is also who an anonymous CONNECT is. */
  users?: MqttUser[];
  /** One login check shared with other doors (takes the place of `users`). */
  authenticator?: Authenticator;
  /**
   * The user a CONNECT without a user name logs in as (its permissions apply). Default: `guest`
   * when neither `users` nor `authenticator` is given, else none: anonymous clients are refused.
   */
  anonymousUser?: string;
  /**
   * Over TLS with client verification: the user name comes from the client certificate (its CN, or
   * the SAN the listener is configured to read), with no password; CONNECT's user name is ignored.
   */
  identityAsUsername?: boolean;
  /**
   * Origins (`https://app.example.com`) a browser page may open MQTT over WebSocket from; `*`: any.
   * A request without Origin (not a browser) is always let in; one whose Origin is the broker's
   * own host name is too when that name is an IP address or localhost. Default: no others.
   */
  wsAllowedOrigins?: readonly string[];
  /** Largest packet accepted (and announced to MQTT 5 clients). Default 1 MiB + headers (16 MiB cap below 256 MiB). */
  maxPacketBytes?: number;
  /** Clients asking for a longer keep-alive (or none) get this one (MQTT 5 Server Keep Alive). */
  keepAliveMaxSeconds?: number;
  /** Virtual host the sessions live in. Default `/`. */
  vhost?: string;
  /** Topic aliases a client may use (MQTT 5 Topic Alias Maximum). Default 64. */
  topicAliasMaximum?: number;
  /** QoS 1/2 publishes a 5.0 client may have unacknowledged towards the server (Receive Maximum). Default 1024. */
  receiveMaximum?: number;
  /**
   * Retained messages kept and served. Default true. Off: CONNACK says so (5.0 Retain Available 0),
   * a retained PUBLISH ends the connection (5.0: DISCONNECT 0x9A) and a will with retain is refused.
   */
  retainAvailable?: boolean;
  /**
   * Bytes that may wait for a subscriber's socket before QoS 0 copies to it are dropped (counted
   * in `MqttServer.qos0Dropped`); before that, a publisher is slowed by its subscribers'
   * backpressure. Default 4 MiB, at least 2 MiB.
   */
  qos0BufferBytes?: number;
  /** Receive Maximum assumed for MQTT 3.1.1 clients (in-flight QoS 1/2 to them). Default 100. */
  defaultInflight?: number;
  /** Connections (TCP and WebSocket together) beyond this are closed before CONNECT. Default: no limit. */
  maxConnections?: number;
  /** Errors of background work (shared store: taking on a departed node's sessions and wills). */
  onError?: (err: unknown) => void;
}

/** What every connection of one server shares. */
export interface MqttContext {
  readonly broker: Broker;
  readonly vhost: VirtualHost;
  readonly retained: RetainedStore;
  readonly sessions: SessionRegistry;
  /** Shared store only: the copies of this node's wills that other nodes publish if it dies. */
  readonly wills: WillLedger | undefined;
  readonly authenticator: Authenticator;
  readonly anonymousUser: string | undefined;
  /** A verified TLS client certificate's identity is the user name (Mosquitto's use_identity_as_username). */
  readonly identityAsUsername: boolean;
  readonly maxPacketBytes: number;
  readonly keepAliveMaxSeconds: number | undefined;
  readonly topicAliasMaximum: number;
  readonly defaultInflight: number;
  readonly receiveMaximum: number;
  readonly retainAvailable: boolean;
  /** QoS 0 to connected subscribers past their queues. */
  readonly direct: Qos0Direct;
  /** The broker's memory alarm is up: a connection that publishes is held at its PUBLISH. */
  publishersBlocked(): boolean;
  /** Failures nobody asked for (a bug, a store that broke): the server's onError. */
  reportError(err: unknown): void;
}
