/** The pieces of the connection handshake that are pure: connection.start and the tune negotiation. */
import { createMethod, FRAME_MIN_SIZE, type AmqpMethod, ReplyCode } from '../codec/index.js';
import { AmqpProtocolError } from './protocol-error.js';
import { mechanisms } from './sasl.js';
import { serverProperties } from './server-properties.js';

/** connection.start; EXTERNAL is offered when the client presented a verified certificate. */
export function startMethod(external: boolean): AmqpMethod {
  return createMethod('connection.start', {
    versionMajor: 0,
    versionMinor: 9,
    serverProperties: serverProperties(),
    mechanisms: Buffer.from(mechanisms(external).join(' ')),
    locales: Buffer.from('en_US'),
  });
}

export interface Tuning {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** The client's tune-ok against our limits: 0 means "no limit" and takes ours; larger values are clamped. */
export function negotiate(ours: { channelMax: number; frameMax: number }, theirs: Tuning): Tuning {
  if (theirs.frameMax !== 0 && theirs.frameMax < FRAME_MIN_SIZE) {
    throw new AmqpProtocolError(
      ReplyCode.NOT_ALLOWED,
      `frame_max=${theirs.frameMax} < ${FRAME_MIN_SIZE} min size`,
    );
  }
  return {
    frameMax: theirs.frameMax === 0 ? ours.frameMax : Math.min(theirs.frameMax, ours.frameMax),
    channelMax: theirs.channelMax === 0 ? ours.channelMax : Math.min(theirs.channelMax, ours.channelMax),
    heartbeat: theirs.heartbeat,
  };
}
