import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { parseRelease, type ReleaseSigned } from '../../server/protocol/release-manifest.js';
import { checkSettings, type PolicySigned } from '../../server/protocol/trust/settings-policy.js';
import { bearer, makeApp, makeTrust, signWith } from '../helpers/fixtures.js';

const DIR = new URL('../../manifests/examples/', import.meta.url);
const policy = examplePolicy as PolicySigned;

/** Every example release; `*.rejected.release.json` are negative examples that must be refused. */
const files = readdirSync(DIR).filter((f) => f.endsWith('.release.json')).sort();
const read = (f: string) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as ReleaseSigned;
const isNegative = (f: string) => f.endsWith('.rejected.release.json');

/** The deterministic artifact manifests/examples/README.md tells how to build. */
const examplePayload = () => Buffer.alloc(1048576, 'redmi-1s 1.4.3\n');

describe('manifests/examples', () => {
  it('holds the motivating release, a reset release and the negative example', () => {
    expect(files).toEqual(['enable-cloud-messaging.rejected.release.json', 'redmi-1s-cloud-optin.release.json', 'withdraw-cloud-backup-consent.release.json']);
  });

  it.each(files)('%s is an unsigned signed body that parses once signed', (f) => {
    const body = read(f);
    expect(body).not.toHaveProperty('signatures');
    expect(body.type).toBe('release');
    const trust = makeTrust();
    expect(parseRelease(signWith(body, trust.releaseKeys)).signed).toEqual(body);
  });

  it.each(files.filter((f) => !isNegative(f)))('%s passes the settings policy', (f) => {
    expect(checkSettings(policy, read(f).settings)).toEqual([]);
  });

  it.each(files.filter(isNegative))('%s is refused by rule P2 naming the setting', (f) => {
    const violations = checkSettings(policy, read(f).settings);
    expect(violations.map((v) => [v.key, v.rule])).toEqual([['cloud.messaging.enabled', 'P2']]);
  });

  it('the motivating release is a system update 1.4.3 for redmi-1s making cloud messaging opt-in', () => {
    const r = read('redmi-1s-cloud-optin.release.json');
    expect(r).toMatchObject({ models: ['redmi-1s'], appliesTo: '>=1.4.0 <1.4.3', version: '1.4.3' });
    expect(r.settings).toEqual([{ key: 'cloud.messaging.enabled', value: false, mode: 'default' }]);
    const payload = examplePayload();
    expect(r.artifact).toEqual({ sha256: createHash('sha256').update(payload).digest('hex'), size: payload.length });
  });

  it('the reset example withdraws cloud backup consent', () => {
    expect(read('withdraw-cloud-backup-consent.release.json').settings).toEqual([{ key: 'cloud.backup.enabled', value: false, mode: 'reset' }]);
  });

  it('over HTTP: the good examples publish (201) and the negative one is refused 422 naming the setting and P2', async () => {
    const f = await makeApp();
    const token = bearer(f.tokens['release-manager']);
    const up = await request(f.app).put('/v1/artifacts').set(token).set('Content-Type', 'application/octet-stream').send(examplePayload());
    expect(up.status).toBe(201);
    for (const file of files) {
      const res = await request(f.app).post('/v1/releases').set(token).send(signWith(read(file), f.trust.releaseKeys));
      if (!isNegative(file)) {
        expect({ file, status: res.status }).toEqual({ file, status: 201 });
        continue;
      }
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('policy_violation');
      expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'cloud.messaging.enabled', message: expect.stringMatching(/^P2: /) })]);
    }
  });
});
