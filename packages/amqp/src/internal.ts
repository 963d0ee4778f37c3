// What sibling packages need of the AMQP door's mappings (the broker app's definitions files):
// not part of the public API.
export { queueArgumentsOf, queueOptionsFromArguments, type DeclareFlags } from './session/queue-arguments.js';
export { amqpExchangeType, exchangeKindOf } from './session/exchange-types.js';
