export { MqttServer, type MqttConnectionInfo } from './server.js';
export type { MqttServerOptions, MqttUser } from './context.js';
export { topicToRoutingKey, routingKeyToTopic, filterToBindingKey, TOPIC_EXCHANGE } from './topics.js';
