import request from 'supertest';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearer, tempDir } from '../helpers/fixtures.js';
import { unusedPort } from '../helpers/ports.js';
import { modeOf, ota } from './cli-harness.js';
import { listen, type Listening } from './cli-server.js';

const BOGUS = `http://127.0.0.1:${await unusedPort()}`;
/** The id `ota token list` shows for the fixture's token of that name. */
const tokenId = async (s: Listening, name: string): Promise<number | undefined> => (await s.ctx.operatorTokens.page(0, 100)).find((t) => t.name === name)?.id;
const BOGUS_RE = BOGUS.replace(/[.:/]/g, (c) => `\\${c}`);

describe('the server address once: ota login, OTA_SERVER, flag > env > profile', () => {
  it('login writes a 0600 profile under ~/.config/ota; commands then need neither --server nor --token; logout forgets', async () => {
    const s = await listen();
    const home = tempDir();
    const env = { HOME: home };
    const r = await ota(['login', '--server', `${s.url}/`, '--token', s.tokens.viewer], { env });
    expect(r.code, r.err).toBe(0);
    const path = join(home, '.config', 'ota', 'profile.json');
    expect(r.err).toBe(`logged in to ${s.url} (trust root v1) as operator "test-viewer" (role viewer, token #${await tokenId(s, 'test-viewer')}); saved in ${path} (0600)\n`);
    expect(r.out).toBe('');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ server: s.url, token: s.tokens.viewer });
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(home, '.config', 'ota'))).toBe(0o700);

    expect(await ota(['rollout', 'list'], { env })).toMatchObject({ code: 0, out: 'no rollouts\n' });
    expect(await ota(['cohort', 'list'], { env })).toMatchObject({ code: 0 });

    // Others must not read a token: refused until chmod 600.
    chmodSync(path, 0o644);
    expect((await ota(['rollout', 'list'], { env })).err).toBe(`ota: ${path} is readable by others (mode 644); it may hold a token: chmod 600 ${path}, or ota logout\n`);
    chmodSync(path, 0o600);

    expect(await ota(['logout'], { env })).toMatchObject({ code: 0, err: `removed ${path}\n` });
    expect(existsSync(path)).toBe(false);
    expect(await ota(['rollout', 'list'], { env })).toMatchObject({ code: 1, err: 'ota: no server: pass --server URL, set OTA_SERVER, or run ota login --server URL once\n' });
    expect(await ota(['logout'], { env })).toMatchObject({ code: 0, err: 'no saved profile\n' });
  });

  it('flag beats OTA_SERVER beats the profile, for the server and for the token (XDG_CONFIG_HOME first)', async () => {
    const s = await listen();
    const xdg = tempDir();
    mkdirSync(join(xdg, 'ota'), { recursive: true });
    const path = join(xdg, 'ota', 'profile.json');
    writeFileSync(path, JSON.stringify({ server: BOGUS, token: 'ota_notavalidtokenatallnotavalidtokenatall00' }), { mode: 0o600 });
    const base = { XDG_CONFIG_HOME: xdg, HOME: tempDir() };

    // profile only: the bogus server is used (and fails)
    expect((await ota(['rollout', 'list'], { env: base })).err).toMatch(new RegExp(`^ota: cannot reach ${BOGUS_RE}\\/v1\\/rollouts`));
    // env beats profile (server), profile token used → 401
    expect((await ota(['rollout', 'list'], { env: { ...base, OTA_SERVER: s.url } })).err).toBe('ota: unauthorized: the token is not valid\n');
    // OTA_TOKEN beats the profile's token
    expect((await ota(['rollout', 'list'], { env: { ...base, OTA_SERVER: s.url, OTA_TOKEN: s.tokens.qa } })).code).toBe(0);
    // flags beat both
    expect((await ota(['rollout', 'list', '--server', s.url, '--token', s.tokens.qa], { env: { ...base, OTA_SERVER: BOGUS, OTA_TOKEN: 'ota_notavalidtokenatallnotavalidtokenatall00' } })).code).toBe(0);
    // qa verify and fleet simulate read the same chain
    expect((await ota(['qa', 'verify', '--root', tempDir(), '--rollout', 'x'], { env: { HOME: tempDir() } })).err).toMatch(/^ota: no operator token: pass --token, set OTA_TOKEN, or run ota login/);
    expect((await ota(['fleet', 'simulate', '--enroll-token', 'e', '--root', tempDir(), '--devices', '1'], { env: { HOME: tempDir() } })).err).toBe('ota: no server: pass --server URL, set OTA_SERVER, or run ota login --server URL once\n');
  });

  it('login to a server that does not answer saves nothing', async () => {
    const home = tempDir();
    const r = await ota(['login', '--server', BOGUS], { env: { HOME: home } });
    expect(r.code).toBe(1);
    expect(r.err).toBe(`ota: cannot reach ${BOGUS}/healthz (ECONNREFUSED): nothing saved\n`);
    expect(existsSync(join(home, '.config'))).toBe(false);
    expect((await ota(['login', '--server', 'ftp://x'], { env: { HOME: home } })).err).toBe('ota: --server must be an http(s) URL, got "ftp://x"\n');
  });

  it('login refuses a token the server refuses (GET /v1/whoami): exit 1, the working profile untouched (issue 18)', async () => {
    const s = await listen();
    const home = tempDir();
    const env = { HOME: home };
    expect((await ota(['login', '--server', s.url, '--token', s.tokens.qa], { env })).code).toBe(0);
    const path = join(home, '.config', 'ota', 'profile.json');
    const good = readFileSync(path, 'utf8');
    // As the issue typed it (not even a token's shape), and a well-formed token the server does not know.
    const r = await ota(['login', '--server', s.url, '--token', 'bogus'], { env });
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(`ota: unauthorized: the token is not valid: expected "Authorization: Bearer <token>" with 16 to 200 letters, digits, "-" or "_"\nota: ${s.url} refused the token: nothing saved (${path} is unchanged)\n`);
    const unknown = await ota(['login', '--server', s.url, '--token', 'ota_notavalidtokenatallnotavalidtokenatall00'], { env });
    expect(unknown).toMatchObject({ code: 1, err: `ota: unauthorized: the token is not valid\nota: ${s.url} refused the token: nothing saved (${path} is unchanged)\n` });
    expect(readFileSync(path, 'utf8')).toBe(good);
    expect(await ota(['rollout', 'list'], { env })).toMatchObject({ code: 0, out: 'no rollouts\n' });
    // Without a token there is nothing to check: the server alone is saved, as before.
    expect((await ota(['login', '--server', s.url], { env })).err).toBe(`logged in to ${s.url} (trust root v1); saved in ${path} (0600)\n`);
  });
});

describe('ota whoami (GET /v1/whoami)', () => {
  it('names the principal of the token the commands use (flag > env > profile): role, name, token id; --json is the API body', async () => {
    const s = await listen();
    const env = { HOME: tempDir() };
    expect((await ota(['login', '--server', s.url, '--token', s.tokens['release-manager']], { env })).code).toBe(0);
    const rm = await tokenId(s, 'test-release-manager');
    expect(await ota(['whoami'], { env })).toMatchObject({ code: 0, out: `operator "test-release-manager" (role release-manager, token #${rm})\n`, err: '' });
    expect((await ota(['whoami'], { env: { ...env, OTA_TOKEN: s.tokens.qa } })).out).toBe(`operator "test-qa" (role qa, token #${await tokenId(s, 'test-qa')})\n`);
    expect((await ota(['whoami', '--token', s.tokens.viewer], { env })).out).toBe(`operator "test-viewer" (role viewer, token #${await tokenId(s, 'test-viewer')})\n`);
    const json = await ota(['whoami', '--json'], { env });
    expect(JSON.parse(json.out)).toEqual({ kind: 'operator', name: 'test-release-manager', role: 'release-manager', tokenId: rm });
    expect(JSON.parse(json.out)).toEqual((await request(s.app).get('/v1/whoami').set(bearer(s.tokens['release-manager']))).body);
    expect(await ota(['whoami', '--token', 'ota_notavalidtokenatallnotavalidtokenatall00'], { env })).toMatchObject({ code: 1, out: '', err: 'ota: unauthorized: the token is not valid\n' });
    expect(await ota(['whoami'], { env: { HOME: tempDir(), OTA_SERVER: s.url } })).toMatchObject({ code: 1, err: 'ota: no operator token: pass --token, set OTA_TOKEN, or run ota login --server URL --token T\n' });
  });
});
