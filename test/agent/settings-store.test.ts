import { describe, expect, it } from 'vitest';
import { SettingsStore, type SettingsMap } from '../../server/programs/agent/settings-store.js';
import { checkSettings, type SettingChange, type SettingState } from '../../server/protocol/trust/settings-policy.js';
import { POLICY } from './agent-fixtures.js';

/** What the agent does with one change: re-check P1–P2 against its policy, then apply P3. */
function applyOnDevice(current: SettingState | undefined, change: SettingChange): { refused: boolean; after: SettingState | undefined } {
  const map: SettingsMap = current ? { [change.key]: { ...current } } : {};
  const store = new SettingsStore(map);
  const refused = checkSettings(POLICY, [change]).length > 0;
  if (!refused) store.applyRelease([change]);
  return { refused, after: store.get(change.key) };
}

const PLAIN = 'display.brightness.auto';
const CONSENT = 'cloud.messaging.enabled';
const d = (value: boolean): SettingState => ({ value, source: 'default' });
const u = (value: boolean): SettingState => ({ value, source: 'user' });

// protocol §3: (current, mode, consent?) → resulting { value, source }. Updates always carry `false`
// here (the safe value of a consent setting); the last rows try to enable a consent setting.
const TABLE: [string, SettingState | undefined, 'default' | 'reset', string, boolean, SettingState | undefined, boolean][] = [
  ['unset, default mode, plain', undefined, 'default', PLAIN, false, d(false), false],
  ['on by default, default mode, plain', d(true), 'default', PLAIN, false, d(false), false],
  ['user chose on, default mode, plain', u(true), 'default', PLAIN, false, u(true), false],
  ['user chose on, reset mode, plain', u(true), 'reset', PLAIN, false, d(false), false],
  ['on by default, reset mode, plain', d(true), 'reset', PLAIN, false, d(false), false],
  ['unset, default mode, consent', undefined, 'default', CONSENT, false, d(false), false],
  ['on by default, default mode, consent', d(true), 'default', CONSENT, false, d(false), false],
  ['user opted in, default mode, consent', u(true), 'default', CONSENT, false, u(true), false],
  ['user opted in, reset mode, consent (withdraw)', u(true), 'reset', CONSENT, false, d(false), false],
  ['on by default, reset mode, consent', d(true), 'reset', CONSENT, false, d(false), false],
  ['off by default, update enables consent (default)', d(false), 'default', CONSENT, true, d(false), true],
  ['off by default, update enables consent (reset)', d(false), 'reset', CONSENT, true, d(false), true],
  ['user opted out, update enables consent (reset)', u(false), 'reset', CONSENT, true, u(false), true],
  ['unset, update enables consent', undefined, 'default', CONSENT, true, undefined, true],
  ['plain setting may be enabled by an update', d(false), 'default', PLAIN, true, d(true), false],
];

describe('settings semantics (protocol §3 P2/P3 on the device)', () => {
  it.each(TABLE)('%s', (_name, current, mode, key, value, expected, refused) => {
    const r = applyOnDevice(current, { key, value, mode });
    expect(r.refused).toBe(refused);
    expect(r.after).toEqual(expected);
  });

  it('a user change is always honoured, consent settings included', () => {
    const store = new SettingsStore(SettingsStore.factory({ [CONSENT]: false }));
    expect(store.setByUser(CONSENT, true)).toEqual(u(true));
    expect(store.setByUser('anything.new', 'x')).toEqual({ value: 'x', source: 'user' });
    expect(() => store.setByUser('__proto__', true)).toThrow(TypeError);
    expect(() => store.setByUser('ok.key', 1.5)).toThrow(TypeError);
  });

  it('applyRelease reports the resulting value and source of every key the release names', () => {
    const store = new SettingsStore({ [CONSENT]: u(true), [PLAIN]: d(true) });
    const out = store.applyRelease([
      { key: CONSENT, value: false, mode: 'default' },
      { key: PLAIN, value: false, mode: 'default' },
    ]);
    expect(out).toEqual({ [CONSENT]: u(true), [PLAIN]: d(false) });
  });
});
