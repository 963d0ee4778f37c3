import { amqpFeatureSuite } from './features.shared.js';

amqpFeatureSuite('conveyor');
