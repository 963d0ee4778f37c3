import { amqpFeatureSuite } from './features.shared.js';

// The same feature tests against the real RabbitMQ (RABBITMQ_URL): skipped when it is unreachable, required when CI=true.
amqpFeatureSuite('rabbitmq');
