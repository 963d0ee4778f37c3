// Where `conveyor start` takes its settings from: flags > CONVEYOR_* variables > config file > defaults.
import {
  ENV_VARS,
  resolveConfig,
  type BrokerConfig,
  type BrokerUser,
  type RawStartOptions,
} from '../config.js';
import { loadConfigFile, loadDefinitionsFile, loadUsersFile } from './config-file.js';

const STORE_KEYS: readonly (keyof RawStartOptions)[] = ['dataDir', 'memory', 'store'];

function fromEnvironment(env: NodeJS.ProcessEnv): RawStartOptions {
  const options: RawStartOptions = {};
  for (const key of Object.keys(ENV_VARS) as (keyof RawStartOptions)[]) {
    const value = env[ENV_VARS[key]];
    if (value === undefined || value === '') continue;
    // Boolean settings keep their text ('1', 'true'): resolveConfig reads both forms.
    if (key === 'memory') options.memory = value === '1' || value.toLowerCase() === 'true';
    else (options as Record<string, string>)[key] = value;
  }
  return options;
}

/**
 * Layers, highest first. Each key comes from the first layer that sets it, except the store:
 * the first layer that names any store (--data-dir, --memory, --store) decides it alone.
 */
export function mergeLayers(layers: readonly RawStartOptions[]): RawStartOptions {
  const merged: RawStartOptions = {};
  const storeLayer = layers.find((layer) => STORE_KEYS.some((key) => layer[key] !== undefined));
  for (const layer of [...layers].reverse()) {
    for (const [key, value] of Object.entries(layer) as [keyof RawStartOptions, string | boolean][]) {
      if (value === undefined || STORE_KEYS.includes(key)) continue;
      (merged as Record<string, string | boolean>)[key] = value;
    }
  }
  if (storeLayer)
    for (const key of STORE_KEYS)
      if (storeLayer[key] !== undefined) (merged as Record<string, unknown>)[key] = storeLayer[key];
  return merged;
}

/** Flags and environment → a validated config (reads the config and users files they name). */
export function loadStartConfig(flags: RawStartOptions, env: NodeJS.ProcessEnv): BrokerConfig {
  const environment = fromEnvironment(env);
  const configPath = flags.config ?? environment.config;
  const file = configPath === undefined ? { options: {} } : loadConfigFile(configPath);
  const raw = mergeLayers([flags, environment, file.options]);
  const usersPath = flags.users ?? environment.users;
  const users: BrokerUser[] | undefined = usersPath === undefined ? file.users : loadUsersFile(usersPath);
  const config = resolveConfig(raw, users);
  if (raw.definitions !== undefined) config.definitions = loadDefinitionsFile(raw.definitions);
  return file.bridges === undefined ? config : { ...config, bridges: file.bridges };
}
