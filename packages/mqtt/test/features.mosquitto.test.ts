import { sharedFeatureSuite } from './features.shared.js';

// The same feature tests against the real Mosquitto (MQTT_URL): skipped when it is unreachable, required when CI=true.
sharedFeatureSuite('mosquitto');
