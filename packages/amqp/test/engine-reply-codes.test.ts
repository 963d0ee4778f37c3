// The AMQP meaning of the core's protocol-free error codes lives in @conveyor/amqp (issue 15, item 1).
import { describe, expect, it } from 'vitest';
import { everyEngineError } from '@conveyor/core/testing';
import { ReplyCode } from '../src/index.js';
import { toReply } from '../src/session/protocol-error.js';

describe('engine errors → AMQP reply codes', () => {
  it.each(everyEngineError())(
    '$code has a reply code, and the core error carries none of its own',
    ({ make }) => {
      const err = make();
      expect(err).not.toHaveProperty('amqpReplyCode');
      expect(err).not.toHaveProperty('mqttReasonCode');
      expect(Object.values(ReplyCode)).toContain(toReply(err).replyCode);
    },
  );

  it.each([
    ['QUEUE_NOT_FOUND', ReplyCode.NOT_FOUND, 'channel'],
    ['ACCESS_REFUSED', ReplyCode.ACCESS_REFUSED, 'channel'],
    ['RESOURCE_LOCKED', ReplyCode.RESOURCE_LOCKED, 'channel'],
    // RabbitMQ answers an oversized message with 406, not 311.
    ['MESSAGE_TOO_LARGE', ReplyCode.PRECONDITION_FAILED, 'channel'],
    ['VHOST_NOT_FOUND', ReplyCode.NOT_ALLOWED, 'connection'],
    ['BROKER_CLOSED', ReplyCode.CONNECTION_FORCED, 'connection'],
    ['STORE_ERROR', ReplyCode.INTERNAL_ERROR, 'connection'],
  ] as const)('%s → %i, closing the %s', (code, replyCode, scope) => {
    const sample = everyEngineError().find((e) => e.code === code)!;
    expect(toReply(sample.make())).toMatchObject({ replyCode, scope });
  });
});
