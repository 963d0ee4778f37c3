/** channel.* methods that reach an open channel (open and close are handled by the connection). */
import { createMethod, type AmqpMethod, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { AmqpProtocolError } from '../protocol-error.js';

export function channelMethod(ch: AmqpChannel, method: AmqpMethod): void {
  switch (method.name) {
    case 'channel.flow':
      // Like RabbitMQ, only flow=true is supported: clients throttle with basic.qos.
      if (!method.args.active)
        throw new AmqpProtocolError(ReplyCode.NOT_IMPLEMENTED, 'channel.flow active=false is not supported');
      ch.sendMethod(createMethod('channel.flow-ok', { active: true }));
      return;
    case 'channel.flow-ok':
      return;
    default:
      throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `unexpected ${method.name}`);
  }
}
