export { MqttServer, type MqttConnectionInfo } from './server.js';
export type { MqttServerOptions, MqttUser } from './context.js';
export { MAX_PACKET_BYTES, MQTT_SETTING_RANGES } from './server-options.js';
export { topicToRoutingKey, routingKeyToTopic, filterToBindingKey, TOPIC_EXCHANGE } from './topics.js';
