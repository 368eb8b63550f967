import { applySettingChange, type SettingChange, type SettingState, type SettingValue } from '../../protocol/trust/settings-policy.js';

const KEY = /^[a-z][a-zA-Z0-9_-]*(\.[a-zA-Z0-9_-]+)*$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export type SettingsMap = Record<string, SettingState>;

function checkKey(key: string): void {
  if (!KEY.test(key) || key.length > 128 || FORBIDDEN.has(key)) throw new TypeError(`not a setting key: ${JSON.stringify(key)}`);
}

function checkValue(value: SettingValue): void {
  const ok = typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
  if (!ok) throw new TypeError(`not a setting value: ${JSON.stringify(value)}`);
}

/**
 * The device's settings, each `{ value, source }` (protocol §3). Settings
 * live apart from the system image (§4): nothing here is touched by
 * installing or downgrading an image, only by a verified release's own
 * `settings` list or by the user. Wraps (and mutates) the map it is given,
 * so the agent's persisted state is the single copy.
 */
export class SettingsStore {
  constructor(private readonly values: SettingsMap) {}

  /** Factory defaults of a new device: every value's source is `default`. */
  static factory(defaults: Readonly<Record<string, SettingValue>> = {}): SettingsMap {
    const map: SettingsMap = {};
    for (const [key, value] of Object.entries(defaults)) {
      checkKey(key);
      checkValue(value);
      map[key] = { value, source: 'default' };
    }
    return map;
  }

  get(key: string): SettingState | undefined {
    return Object.hasOwn(this.values, key) ? this.values[key] : undefined;
  }

  snapshot(): SettingsMap {
    return structuredClone(this.values);
  }

  /** A user's choice is always honoured (protocol §3 P2: enabling is the user's act alone). */
  setByUser(key: string, value: SettingValue): SettingState {
    checkKey(key);
    checkValue(value);
    const state: SettingState = { value, source: 'user' };
    this.values[key] = state;
    return state;
  }

  /**
   * protocol §3 P3 on the device: `default` moves only values still on the
   * default, `reset` sets the value and clears the user's choice. The caller
   * has already re-checked P1–P2 against the device's verified policy.
   * Returns the resulting `{ value, source }` of every key the release names.
   */
  applyRelease(changes: readonly SettingChange[]): SettingsMap {
    const out: SettingsMap = {};
    for (const change of changes) {
      checkKey(change.key);
      const next = applySettingChange(this.get(change.key), change);
      this.values[change.key] = next;
      out[change.key] = { ...next };
    }
    return out;
  }
}
