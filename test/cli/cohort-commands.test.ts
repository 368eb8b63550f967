import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/fixtures.js';
import { ota } from './cli-harness.js';
import { listen } from './cli-server.js';

describe('ota cohort', () => {
  it('create → list → show → members, printing readable lines and never the token', async () => {
    const s = await listen();
    const token = s.tokens['release-manager'];
    const at = ['--server', s.url, '--token', token];

    const qa = await ota(['cohort', 'create', 'qa', '--description', 'QA bench phones', '--member', 'dev-1', 'dev-2', '--member', 'dev-3', ...at]);
    expect(qa).toMatchObject({ code: 0, err: '' });
    expect(qa.out).toBe('created cohort qa: 3 explicit members; rule: -\n');

    const eu = await ota(['cohort', 'create', 'eu-beta', '--model', 'redmi-1s', '--version-range', '>=1.4.0 <1.5.0', '--attribute', 'region=eu', 'region=uk', 'tier:=2', '--json'], { env: { OTA_TOKEN: token } });
    expect(eu.code, eu.err).toBe(1); // no --server
    const created = await ota(['cohort', 'create', 'eu-beta', '--model', 'redmi-1s', '--version-range', '>=1.4.0 <1.5.0', '--attribute', 'region=eu', 'region=uk', 'tier:=2', '--json', '--server', s.url], { env: { OTA_TOKEN: token } });
    expect(created.code, created.err).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ name: 'eu-beta', memberCount: 0, rule: { models: ['redmi-1s'], versionRange: '>=1.4.0 <1.5.0', attributes: { region: ['eu', 'uk'], tier: 2 } } });

    const list = await ota(['cohort', 'list', ...at]);
    expect(list.code).toBe(0);
    const lines = list.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MEMBERS\s+RULE\s+DESCRIPTION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['all', 'eu-beta', 'qa']);
    expect(list.out).toMatch(/^eu-beta\s+0\s+models redmi-1s; version >=1\.4\.0 <1\.5\.0; region=eu\|uk; tier=2\s*$/m);
    expect(list.out).toMatch(/^qa\s+3\s+-\s+QA bench phones$/m);
    // protocol §5: `all` holds every device; its memberCount (explicit members) of 0 is not shown as an empty cohort (issue 18).
    expect(list.out).toMatch(/^all\s+every device\s+-\s+Every enrolled device \(implicit\)$/m);
    const all = await ota(['cohort', 'show', 'all', ...at]);
    expect(all.code, all.err).toBe(0);
    expect(all.out).toMatch(/\nmembers {2}every device \(implicit\)\n$/);
    const listJson = await ota(['cohort', 'list', '--json', ...at]);
    const api = await request(s.app).get('/v1/cohorts').set(bearer(s.tokens.viewer));
    expect(JSON.parse(listJson.out)).toEqual(api.body);

    const show = await ota(['cohort', 'show', 'qa', ...at]);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/^cohort qa — QA bench phones\nrule {5}-\ncreated {2}\S+, updated \S+\nmembers {2}3:\n {2}dev-1\n {2}dev-2\n {2}dev-3\n$/);

    const replaced = await ota(['cohort', 'members', 'qa', '--member', 'dev-9', 'dev-4', ...at]);
    expect(replaced).toMatchObject({ code: 0, out: 'replaced the members of cohort qa: 2 explicit members; rule: -\n' });
    const shown = JSON.parse((await ota(['cohort', 'show', 'qa', '--json', ...at])).out) as { members: string[] };
    expect(shown.members).toEqual(['dev-4', 'dev-9']);
    expect((await ota(['cohort', 'members', 'qa', '--clear', ...at])).out).toMatch(/: 0 explicit members;/);

    for (const r of [qa, created, list, show, replaced]) expect(r.out + r.err).not.toContain(token);
  });

  it('follows member pages in `show` (2,000 a page, up to the 10,000 a list may hold)', async () => {
    const s = await listen();
    const members = Array.from({ length: 10_000 }, (_, i) => `dev-${String(i).padStart(5, '0')}`);
    const res = await request(s.app).post('/v1/cohorts').set(bearer(s.tokens['release-manager'])).send({ name: 'big', members });
    expect(res.status).toBe(201);
    const show = await ota(['cohort', 'show', 'big', '--json', '--server', s.url, '--token', s.tokens.viewer]);
    expect(show.code, show.err).toBe(0);
    expect((JSON.parse(show.out) as { members: string[] }).members).toEqual(members);
  });

  it('prints the server error body: conflict, not found, validation, forbidden; exit 1', async () => {
    const s = await listen();
    const at = ['--server', s.url, '--token', s.tokens['release-manager']];
    expect((await ota(['cohort', 'create', 'qa', ...at])).code).toBe(0);
    expect(await ota(['cohort', 'create', 'qa', ...at])).toMatchObject({ code: 1, out: '', err: 'ota: conflict: cohort qa already exists\n' });
    expect(await ota(['cohort', 'show', 'nope', ...at])).toMatchObject({ code: 1, err: 'ota: not_found: no cohort nope\n' });
    const badMember = await ota(['cohort', 'create', 'bad', '--member', 'ok-1', 'not/an/id', ...at]);
    expect(badMember.code).toBe(1);
    expect(badMember.err).toMatch(/^ota: validation_failed: cohort is not valid\n {2}- pattern \/members\/1: must match pattern/);
    const invalid = await ota(['cohort', 'create', 'bad', '--version-range', 'not a range', ...at]);
    expect(invalid).toMatchObject({ code: 1, err: 'ota: validation_failed: cohort is not valid\n  - /rule/versionRange: "not a range" is not a valid semver range\n' });
    expect(await ota(['cohort', 'members', 'all', '--member', 'dev-1', ...at])).toMatchObject({ code: 1, err: 'ota: conflict: the cohort "all" is implicit and has no member list\n' });
    expect((await ota(['cohort', 'members', 'qa', ...at])).err).toMatch(/^ota: give the new member list with --member/);
    const viewer = await ota(['cohort', 'create', 'x', '--server', s.url, '--token', s.tokens.viewer]);
    expect(viewer).toMatchObject({ code: 1, err: expect.stringMatching(/^ota: forbidden: /) });
    expect((await ota(['cohort', 'create', 'x', '--attribute', 'tier:=high', ...at])).err).toMatch(/^ota: --attribute tier:= takes an integer or true\/false/);
  });
});
