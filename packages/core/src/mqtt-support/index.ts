export { mqttTopicMatches } from './topic-filter.js';
export { RetainedStore, type RetainedMessage } from './retained-store.js';
export { MqttSessionStore, type MqttSessionRecord, type MqttSubscriptionRecord } from './session-store.js';
