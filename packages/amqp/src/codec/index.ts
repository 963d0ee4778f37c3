/** The AMQP 0-9-1 codec: bytes ↔ typed frames and commands. No sockets, no timers, no engine. */
export * from './spec.generated.js';
/** The core's header and property model, re-exported for codec users' convenience. */
export type { HeaderValue, Headers, MessageProperties } from '@conveyor/core';
/** Kept for early users: an invalid `expiration` now raises the core's `PreconditionFailedError` (406). */
export { PreconditionFailedError as AmqpPropertyError } from '@conveyor/core';
export { AmqpEncodeError, AmqpFrameError, isAmqpFrameError, type AmqpFrameErrorCode } from './errors.js';
export { FrameParser, type FrameParserOptions, type ParserEvent } from './frame-parser.js';
export {
  CommandAssembler,
  type AmqpCommand,
  type ContentCommand,
  type HeartbeatCommand,
  type MethodCommand,
} from './command-assembler.js';
export {
  FRAME_OVERHEAD,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  encodeBodyFrames,
  encodeContent,
  encodeFrame,
  encodeHeaderFrame,
  encodeMethodFrame,
  maxBodyPayload,
  type AmqpFrame,
  type BodyFrame,
  type HeaderFrame,
  type HeartbeatFrame,
  type MethodFrame,
  type OutgoingFrame,
} from './frames.js';
export { encodeDeliver } from './deliver.js';
export { createMethod, findMethodSpec, methodSpec, type MethodInput, type MethodOf } from './methods.js';
export { fromMessageProperties, parseExpiration, toMessageProperties } from './properties.js';
export {
  decodeFieldTable,
  decodeTypedFieldTable,
  encodeFieldTable,
  encodeTypedFieldTable,
} from './tables.js';
export type { FieldTable, FieldValue } from './field-table.js';
