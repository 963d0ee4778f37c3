import { sharedFeatureSuite } from './features.shared.js';

sharedFeatureSuite('conveyor');
