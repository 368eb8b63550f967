import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../server/protocol/crypto/envelope.js';
import { verifyAuditChain } from '../../server/audit/audit-chain.js';
import { manifestSha256, type ReleaseSigned } from '../../server/protocol/release-manifest.js';
import { bearer, makeApp, makeTrust, releaseBody, signWith, type AppFixture } from '../helpers/fixtures.js';

const publish = (f: AppFixture, body: unknown, token = f.tokens['release-manager']) =>
  request(f.app).post('/v1/releases').set(bearer(token)).send(body as object);

interface ErrorBody {
  error: { code: string; message: string; details?: { path?: string; code?: string; message: string }[] };
}

/** A refusal: status, top-level code, and details naming every reason. */
async function expectRefused(res: request.Response, status: number, code: string): Promise<NonNullable<ErrorBody['error']['details']>> {
  expect(res.status).toBe(status);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(Array.isArray(body.error.details) && body.error.details.length > 0).toBe(true);
  return body.error.details ?? [];
}

describe('POST /v1/releases (protocol §7)', () => {
  it('publishes (201), answers the same body again with 200, and refuses other content under the same id (409)', async () => {
    const f = await makeApp();
    const env = signWith(releaseBody(), f.trust.releaseKeys);
    const first = await publish(f, env);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: env.signed.id, manifestSha256: manifestSha256(env.signed), release: env, publishedBy: 'operator:test-release-manager(release-manager)' });

    const again = await publish(f, env);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const other = signWith(releaseBody({ notes: 'changed' }), f.trust.releaseKeys);
    const details = await expectRefused(await publish(f, other), 409, 'conflict');
    expect(details[0]?.path).toBe('/signed/id');
  });

  it('admin may publish too', async () => {
    const f = await makeApp();
    expect((await publish(f, signWith(releaseBody(), f.trust.releaseKeys), f.tokens.admin)).status).toBe(201);
  });

  describe('release threshold 2', () => {
    const trustOf = () => makeTrust({ releaseKeys: 2, releaseThreshold: 2 });

    it('refuses a release signed by one release key (422 threshold_not_met)', async () => {
      const f = await makeApp({ trust: trustOf() });
      const details = await expectRefused(await publish(f, signWith(releaseBody(), f.trust.releaseKeys.slice(0, 1))), 422, 'threshold_not_met');
      expect(details[0]).toMatchObject({ code: 'threshold_not_met', path: '/signatures' });
      expect(details[0]?.message).toMatch(/needs 2 valid signature\(s\) from distinct keys, found 1/);
    });

    it('accepts it signed by both', async () => {
      const f = await makeApp({ trust: trustOf() });
      expect((await publish(f, signWith(releaseBody(), f.trust.releaseKeys))).status).toBe(201);
    });

    it('counts the same signature twice once', async () => {
      const f = await makeApp({ trust: trustOf() });
      const one = signWith(releaseBody(), f.trust.releaseKeys.slice(0, 1));
      const twice = { signed: one.signed, signatures: [one.signatures[0], one.signatures[0]] };
      const details = await expectRefused(await publish(f, twice), 422, 'threshold_not_met');
      expect(details[0]?.message).toMatch(/found 1.*duplicate_keyid/);
    });
  });

  it('refuses a manifest signed by a root key (wrong role)', async () => {
    const f = await makeApp();
    const details = await expectRefused(await publish(f, signWith(releaseBody(), f.trust.rootKeys)), 422, 'signature_invalid');
    expect(details[0]?.message).toMatch(/found 0.*unknown_keyid \(a root key, not a release key\)/);
    expect(details[0]?.code).toBe('signature_invalid');
  });

  it('refuses a manifest signed by the online key (wrong role)', async () => {
    const f = await makeApp();
    const details = await expectRefused(await publish(f, signWith(releaseBody(), [f.trust.onlineKey])), 422, 'signature_invalid');
    expect(details[0]?.message).toMatch(/found 0.*unknown_keyid \(an online key, not a release key\)/);
  });

  it('refuses a tampered body (signature_invalid)', async () => {
    const f = await makeApp();
    const env = signWith(releaseBody(), f.trust.releaseKeys);
    const tampered = { ...env, signed: { ...env.signed, appliesTo: '>=0.0.0' } };
    const details = await expectRefused(await publish(f, tampered), 422, 'signature_invalid');
    expect(details[0]?.message).toMatch(/bad_signature/);
  });

  it('refuses an unsigned manifest', async () => {
    const f = await makeApp();
    await expectRefused(await publish(f, { signed: releaseBody(), signatures: [] }), 422, 'signature_invalid');
  });

  it('refuses an expired release (release_expired)', async () => {
    const f = await makeApp();
    const details = await expectRefused(await publish(f, signWith(releaseBody({ expires: '2026-11-24T11:59:59Z' }), f.trust.releaseKeys)), 422, 'release_expired');
    expect(details[0]).toMatchObject({ path: '/signed/expires' });
  });

  it('accepts a release that expires later', async () => {
    const f = await makeApp();
    expect((await publish(f, signWith(releaseBody({ expires: '2026-12-24T00:00:00Z' }), f.trust.releaseKeys))).status).toBe(201);
  });

  it('refuses a policy-violating release (P2) naming the setting and the rule', async () => {
    const f = await makeApp();
    const body = releaseBody({ settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'default' }] });
    const details = await expectRefused(await publish(f, signWith(body, f.trust.releaseKeys)), 422, 'policy_violation');
    expect(details).toHaveLength(1);
    expect(details[0]?.path).toBe('cloud.messaging.enabled');
    expect(details[0]?.message).toMatch(/^P2: /);
  });

  it('lists every reason at once (release_refused)', async () => {
    const f = await makeApp();
    const body = releaseBody({
      expires: '2026-01-01T00:00:00Z',
      settings: [
        { key: 'cloud.messaging.enabled', value: true, mode: 'reset' },
        { key: 'not.declared', value: 1, mode: 'default' },
      ],
    });
    const env = signWith(body, f.trust.rootKeys);
    const details = await expectRefused(await publish(f, env), 422, 'release_refused');
    expect(details.map((d) => d.code).sort()).toEqual(['policy_violation', 'policy_violation', 'release_expired', 'signature_invalid']);
    expect(details.filter((d) => d.code === 'policy_violation').map((d) => d.message.slice(0, 2)).sort()).toEqual(['P1', 'P2']);
  });

  it('refuses a release whose artifact was not uploaded (422)', async () => {
    const f = await makeApp();
    const body = releaseBody({ version: '1.4.3', artifact: { sha256: 'ab'.repeat(32), size: 10 } });
    const details = await expectRefused(await publish(f, signWith(body, f.trust.releaseKeys)), 422, 'release_refused');
    expect(details[0]?.path).toBe('/signed/artifact');
  });

  it('nothing is stored by a refusal, and a publish is audited in a valid chain', async () => {
    const f = await makeApp();
    await publish(f, signWith(releaseBody({ id: 'refused' }), f.trust.rootKeys));
    expect((await f.ctx.releases.get('refused'))).toBeUndefined();
    await publish(f, signWith(releaseBody(), f.trust.releaseKeys));
    const entries = (await f.ctx.audit.page(0, 100));
    expect(entries.map((e) => [e.action, e.subject])).toEqual([['release.publish', 'redmi-1s-cloud-optin-2014-08']]);
    expect(verifyAuditChain(entries).ok).toBe(true);
  });
});

describe('GET /v1/releases', () => {
  async function withReleases(ids: string[]): Promise<AppFixture> {
    const f = await makeApp();
    for (const id of ids) expect((await publish(f, signWith(releaseBody({ id }), f.trust.releaseKeys))).status).toBe(201);
    return f;
  }

  it('lists releases in id order and pages with limit and cursor', async () => {
    const f = await withReleases(['c-rel', 'a-rel', 'b-rel']);
    const page1 = await request(f.app).get('/v1/releases?limit=2').set(bearer(f.tokens.viewer));
    expect(page1.status).toBe(200);
    expect((page1.body as { releases: { id: string }[] }).releases.map((r) => r.id)).toEqual(['a-rel', 'b-rel']);
    expect(page1.body.nextCursor).toBe('b-rel');
    const page2 = await request(f.app).get('/v1/releases').query({ limit: 2, cursor: 'b-rel' }).set(bearer(f.tokens.viewer));
    expect((page2.body as { releases: { id: string }[] }).releases.map((r) => r.id)).toEqual(['c-rel']);
    expect(page2.body.nextCursor).toBeNull();
    const all = await request(f.app).get('/v1/releases').set(bearer(f.tokens.qa));
    expect((all.body as { releases: unknown[] }).releases).toHaveLength(3);
  });

  it('serves the envelope exactly as published', async () => {
    const f = await makeApp();
    const env: Envelope<ReleaseSigned> = signWith(releaseBody({ notes: 'ünïcode ✓' }), f.trust.releaseKeys);
    await publish(f, env);
    const res = await request(f.app).get(`/v1/releases/${env.signed.id}`).set(bearer(f.tokens.qa));
    expect(res.status).toBe(200);
    expect(res.body.release).toEqual(env);
    expect(res.body.manifestSha256).toBe(manifestSha256(env.signed));
  });

  it('404 for an unknown id, with the error body', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/releases/no-such-release').set(bearer(f.tokens.viewer));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it.each(['UPPER', 'has space', '-leading-dash', 'x'.repeat(65), '%00'])('400 for the bad id %j', async (id) => {
    const f = await makeApp();
    const res = await request(f.app).get(`/v1/releases/${encodeURIComponent(id)}`).set(bearer(f.tokens.viewer));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
  });

  it.each(['0', '-1', '1001', 'abc', '1.5'])('400 for limit=%s', async (limit) => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/releases').query({ limit }).set(bearer(f.tokens.viewer));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
  });
});
