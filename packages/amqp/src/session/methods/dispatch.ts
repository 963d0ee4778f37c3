/** The one dispatch for channel commands: by method class, then by method, each to its handler. */
import { ClassId, type ContentCommand, type MethodCommand, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { basicMethod } from './basic-methods.js';
import { channelMethod } from './channel-methods.js';
import { exchangeMethod } from './exchange-methods.js';
import { publish } from './publish.js';
import { queueMethod } from './queue-methods.js';
import { confirmMethod, txMethod } from './tx-confirm-methods.js';

/**
 * Synchronous where the handler is (basic.publish routes synchronously): the channel runs such commands
 * inline instead of through a promise per command. Throws synchronously for invalid commands.
 */
export function dispatchChannelCommand(
  ch: AmqpChannel,
  cmd: MethodCommand | ContentCommand,
): Promise<void> | void {
  const { method } = cmd;
  if (cmd.type === 'content') {
    if (method.name === 'basic.publish') return publish(ch, method.args, cmd);
    throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${method.name} may not be sent by a client`);
  }
  switch (method.classId) {
    case ClassId.channel:
      return channelMethod(ch, method);
    case ClassId.access:
      if (method.name === 'access.request')
        return ch.sendMethod({ name: 'access.request-ok', classId: 30, methodId: 11, args: { ticket: 1 } });
      break;
    case ClassId.exchange:
      return exchangeMethod(ch, method);
    case ClassId.queue:
      return queueMethod(ch, method);
    case ClassId.basic:
      return basicMethod(ch, method);
    case ClassId.tx:
      return txMethod(ch, method);
    case ClassId.confirm:
      return confirmMethod(ch, method);
  }
  throw new AmqpProtocolError(
    ReplyCode.COMMAND_INVALID,
    `${method.name} is not valid on a channel from a client`,
  );
}
