import { describe, expect, it } from 'vitest';
import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { AppError } from '../../server/errors.js';
import {
  applySettingChange,
  checkSettings,
  parsePolicy,
  type PolicySigned,
  type SettingChange,
  type SettingSpec,
  type SettingState,
} from '../../server/protocol/trust/settings-policy.js';

const policy = examplePolicy as PolicySigned;

describe('manifests/policy.json', () => {
  it('parses and declares the consent settings the issue names, safe value false', () => {
    const env = parsePolicy(signEnvelope({ signed: policy }, [ed25519Signer(generatePrivateKey())]));
    for (const key of ['cloud.messaging.enabled', 'cloud.backup.enabled', 'cloud.sync.enabled']) {
      expect(env.signed.settings[key]).toMatchObject({ type: 'boolean', consent: true, safeValue: false });
    }
  });
});

describe('checkSettings (protocol §3)', () => {
  it.each<{ name: string; changes: SettingChange[]; want: [string, string][] }>([
    { name: 'no settings', changes: [], want: [] },
    { name: 'consent setting to its safe value, default mode', changes: [{ key: 'cloud.messaging.enabled', value: false, mode: 'default' }], want: [] },
    { name: 'consent setting to its safe value, reset mode', changes: [{ key: 'cloud.backup.enabled', value: false, mode: 'reset' }], want: [] },
    { name: 'ordinary boolean on', changes: [{ key: 'display.brightness.auto', value: true, mode: 'default' }], want: [] },
    { name: 'enum value listed', changes: [{ key: 'updates.download.network', value: 'wifi', mode: 'reset' }], want: [] },
    { name: 'integer', changes: [{ key: 'battery.saver.threshold', value: 15, mode: 'default' }], want: [] },
    // P1
    { name: 'undeclared key', changes: [{ key: 'cloud.photos.enabled', value: false, mode: 'default' }], want: [['cloud.photos.enabled', 'P1']] },
    { name: 'inherited Object key is not declared', changes: [{ key: 'toString', value: false, mode: 'default' }], want: [['toString', 'P1']] },
    { name: 'boolean given a string', changes: [{ key: 'display.brightness.auto', value: 'true', mode: 'default' }], want: [['display.brightness.auto', 'P1']] },
    { name: 'integer given a boolean', changes: [{ key: 'battery.saver.threshold', value: true, mode: 'default' }], want: [['battery.saver.threshold', 'P1']] },
    { name: 'integer given a float', changes: [{ key: 'battery.saver.threshold', value: 1.5, mode: 'default' }], want: [['battery.saver.threshold', 'P1']] },
    { name: 'enum value not listed', changes: [{ key: 'updates.download.network', value: 'cellular', mode: 'default' }], want: [['updates.download.network', 'P1']] },
    { name: 'consent setting given the wrong type', changes: [{ key: 'cloud.sync.enabled', value: 0, mode: 'default' }], want: [['cloud.sync.enabled', 'P1']] },
    // P2, in either mode
    { name: 'consent on, default mode', changes: [{ key: 'cloud.messaging.enabled', value: true, mode: 'default' }], want: [['cloud.messaging.enabled', 'P2']] },
    { name: 'consent on, reset mode', changes: [{ key: 'telemetry.usage.enabled', value: true, mode: 'reset' }], want: [['telemetry.usage.enabled', 'P2']] },
    // duplicates
    {
      name: 'the same key twice',
      changes: [
        { key: 'display.brightness.auto', value: true, mode: 'default' },
        { key: 'display.brightness.auto', value: false, mode: 'reset' },
      ],
      want: [['display.brightness.auto', 'P3']],
    },
    {
      name: 'every violation listed at once',
      changes: [
        { key: 'cloud.messaging.enabled', value: true, mode: 'default' },
        { key: 'nope', value: 1, mode: 'default' },
        { key: 'cloud.backup.enabled', value: true, mode: 'reset' },
      ],
      want: [['cloud.messaging.enabled', 'P2'], ['nope', 'P1'], ['cloud.backup.enabled', 'P2']],
    },
  ])('$name', ({ changes, want }) => {
    expect(checkSettings(policy, changes).map((v) => [v.key, v.rule])).toEqual(want);
  });

  it('a P2 message says enabling is the user\'s act', () => {
    const [v] = checkSettings(policy, [{ key: 'cloud.messaging.enabled', value: true, mode: 'default' }]);
    expect(v?.message).toMatch(/consent/);
  });

  it('a consent setting whose safe value is not false is held to that value', () => {
    const p: PolicySigned = { type: 'settings-policy', version: 2, settings: { 'ads.level': { type: 'enum', values: ['none', 'some', 'all'], consent: true, safeValue: 'none' } } };
    expect(checkSettings(p, [{ key: 'ads.level', value: 'none', mode: 'reset' }])).toEqual([]);
    expect(checkSettings(p, [{ key: 'ads.level', value: 'some', mode: 'default' }]).map((v) => v.rule)).toEqual(['P2']);
  });
});

describe('parsePolicy cross-field rules', () => {
  const envelope = (settings: Record<string, SettingSpec>) => ({ signed: { type: 'settings-policy', version: 1, settings }, signatures: [] });
  it.each<[string, SettingSpec, RegExp]>([
    ['enum without values', { type: 'enum' }, /must list its values/],
    ['values on a boolean', { type: 'boolean', values: [true] }, /only for enum/],
    ['consent without safeValue', { type: 'boolean', consent: true }, /safeValue/],
    ['safeValue of the wrong type', { type: 'boolean', consent: true, safeValue: 'off' }, /safeValue is not a valid boolean/],
  ])('refuses %s', (_name, spec, message) => {
    let err: unknown;
    try {
      parsePolicy(envelope({ 'x.y': spec }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect(((err as AppError).details ?? []).map((d) => d.message).join('\n')).toMatch(message);
  });

  it.each(['__proto__', 'constructor', 'Upper.case'])('refuses the setting key %s', (key) => {
    const value = JSON.parse(`{"signed":{"type":"settings-policy","version":1,"settings":{"${key}":{"type":"boolean"}}},"signatures":[]}`) as unknown;
    expect(() => parsePolicy(value)).toThrow(AppError);
  });
});

describe('applySettingChange (protocol §3 P3)', () => {
  const user: SettingState = { value: true, source: 'user' };
  const dflt: SettingState = { value: true, source: 'default' };
  it.each<{ name: string; current: SettingState | undefined; mode: 'default' | 'reset'; want: SettingState }>([
    { name: 'default mode keeps a user choice', current: user, mode: 'default', want: user },
    { name: 'default mode moves a value still on the default', current: dflt, mode: 'default', want: { value: false, source: 'default' } },
    { name: 'default mode sets an unknown setting', current: undefined, mode: 'default', want: { value: false, source: 'default' } },
    { name: 'reset mode overrides a user choice and clears it', current: user, mode: 'reset', want: { value: false, source: 'default' } },
    { name: 'reset mode sets a default value', current: dflt, mode: 'reset', want: { value: false, source: 'default' } },
    { name: 'reset mode sets an unknown setting', current: undefined, mode: 'reset', want: { value: false, source: 'default' } },
  ])('$name', ({ current, mode, want }) => {
    expect(applySettingChange(current, { key: 'cloud.backup.enabled', value: false, mode })).toEqual(want);
  });
});
