/** tx.* and confirm.select: the channel's publishing mode. */
import { PreconditionFailedError } from '@conveyor/core';
import { createMethod, type AmqpMethod, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { ConfirmTracker } from '../confirm-tracker.js';
import { AmqpProtocolError } from '../protocol-error.js';

export async function txMethod(ch: AmqpChannel, method: AmqpMethod): Promise<void> {
  switch (method.name) {
    case 'tx.select':
      if (ch.mode.kind === 'confirm')
        throw new PreconditionFailedError('cannot switch from confirm to tx mode');
      if (ch.mode.kind === 'plain') ch.mode = { kind: 'tx', ops: [], settled: new Map() };
      ch.sendMethod(createMethod('tx.select-ok', {}));
      return;
    case 'tx.commit': {
      if (ch.mode.kind !== 'tx') throw new PreconditionFailedError('channel is not transactional');
      const ops = ch.mode.ops.splice(0);
      for (const op of ops) await op();
      ch.sendMethod(createMethod('tx.commit-ok', {}));
      return;
    }
    case 'tx.rollback': {
      if (ch.mode.kind !== 'tx') throw new PreconditionFailedError('channel is not transactional');
      ch.mode.ops.length = 0;
      // Settlements are undone: those deliveries are unacked again.
      const restored = [...ch.mode.settled, ...ch.unacked].sort((a, b) => a[0] - b[0]);
      ch.mode.settled.clear();
      ch.unacked.clear();
      for (const [t, d] of restored) ch.unacked.set(t, d);
      ch.sendMethod(createMethod('tx.rollback-ok', {}));
      return;
    }
    default:
      throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${method.name} may not be sent by a client`);
  }
}

export function confirmMethod(ch: AmqpChannel, method: AmqpMethod): void {
  if (method.name !== 'confirm.select')
    throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${method.name} may not be sent by a client`);
  if (ch.mode.kind === 'tx') throw new PreconditionFailedError('cannot switch from tx to confirm mode');
  if (ch.mode.kind === 'plain') {
    const tracker = new ConfirmTracker((outcome, seq, multiple) => {
      if (ch.state.kind !== 'open' && ch.state.kind !== 'peer-closing') return;
      ch.sendMethod(
        outcome === 'ack'
          ? createMethod('basic.ack', { deliveryTag: seq, multiple })
          : createMethod('basic.nack', { deliveryTag: seq, multiple, requeue: false }),
      );
    });
    ch.mode = { kind: 'confirm', tracker };
  }
  if (!method.args.nowait) ch.sendMethod(createMethod('confirm.select-ok', {}));
}
