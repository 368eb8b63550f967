import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedPort } from '../helpers/ports.js';
import { createOperatorTokenStore } from '../../server/auth/operator-token-store.js';
import { openDatabase, openSqlite } from '../../server/db/open.js';
import { makeApp, makeTrust, releaseBody, signWith, tempDir, type AppFixture } from '../helpers/fixtures.js';
import { ota, writeJsonFile } from './cli-harness.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** makeApp() listening on 127.0.0.1:0. */
async function listen(given?: AppFixture) {
  const fixture = given ?? (await makeApp());
  const server = createServer(fixture.app).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { ...fixture, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('ota publish', () => {
  it('gets 201 and then 200 for the same release, printing the server JSON and never the token', async () => {
    const s = await listen();
    const file = join(tempDir(), 'release.json');
    writeJsonFile(file, signWith(releaseBody(), s.trust.releaseKeys));
    const token = s.tokens['release-manager'];
    const first = await ota(['publish', file, '--server', s.url, '--token', token]);
    expect(first.code).toBe(0);
    expect(first.err).toBe('HTTP 201 Created\n');
    expect(JSON.parse(first.out)).toMatchObject({ id: 'redmi-1s-cloud-optin-2014-08', manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await ota(['publish', file, '--server', `${s.url}/`], { env: { OTA_TOKEN: token } });
    expect(again.code).toBe(0);
    expect(again.err).toBe('HTTP 200 OK\n');
    for (const r of [first, again]) expect(r.out + r.err).not.toContain(token);
  });

  it('prints `code: message` and each detail of an error body, exit 1', async () => {
    const s = await listen(await makeApp({ trust: makeTrust({ releaseKeys: 2, releaseThreshold: 2 }) }));
    const file = join(tempDir(), 'negative.json');
    writeJsonFile(file, signWith(releaseBody({ id: 'enable-messaging', settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'default' }] }), s.trust.releaseKeys.slice(0, 1)));
    const r = await ota(['publish', file, '--server', s.url, '--token', s.tokens['release-manager']]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    // Each reason once: the message's own copy of the details is not printed again (issue 18).
    expect(lines[0]).toBe('ota: release_refused: release enable-messaging refused:');
    expect(lines).toContain('  - threshold_not_met /signatures: release (root v1) role needs 2 valid signature(s) from distinct keys, found 1');
    expect(lines.filter((l) => /^ {2}- policy_violation cloud\.messaging\.enabled: P2: /.test(l))).toHaveLength(1);
    expect(r.err.match(/P2: /g)).toHaveLength(1);
    expect(r.err.match(/found 1/g)).toHaveLength(1);
    expect(lines).toHaveLength(3); // the error and its two details

    const wrong = await ota(['publish', file, '--server', s.url, '--token', s.tokens.viewer]);
    expect(wrong).toMatchObject({ code: 1, err: expect.stringMatching(/^ota: forbidden: /) });
    expect(wrong.err).not.toContain(s.tokens.viewer);
  });

  it('says a release signed by a root key was signed by "a root key, not a release key"; the code stays signature_invalid', async () => {
    const s = await listen();
    const file = join(tempDir(), 'root-signed.json');
    writeJsonFile(file, signWith(releaseBody(), s.trust.rootKeys));
    const r = await ota(['publish', file, '--server', s.url, '--token', s.tokens['release-manager']]);
    expect(r).toMatchObject({ code: 1, out: '' });
    const lines = r.err.trimEnd().split('\n');
    expect(lines[0]).toBe('ota: signature_invalid: release redmi-1s-cloud-optin-2014-08 refused:');
    expect(lines[1]).toMatch(/^ {2}- signature_invalid \/signatures: release \(root v1\) role needs 1 valid signature\(s\) from distinct keys, found 0 \(ignored: [0-9a-f]{12}…: unknown_keyid \(a root key, not a release key\)\)$/);
  });

  it('refuses without a token, with a bad URL, and when the server is unreachable, each in one line', async () => {
    const file = join(tempDir(), 'release.json');
    writeJsonFile(file, { signed: releaseBody(), signatures: [{ keyid: 'ab'.repeat(32), sig: 'cd'.repeat(64) }] });
    expect((await ota(['publish', file, '--server', 'http://127.0.0.1:9'])).err).toBe('ota: no operator token: pass --token, set OTA_TOKEN, or run ota login --server URL --token T\n');
    expect((await ota(['publish', file, '--server', 'nowhere', '--token', 'x'])).err).toMatch(/^ota: --server must be a URL/);
    const port = await unusedPort();
    const down = await ota(['publish', file, '--server', `http://127.0.0.1:${port}`, '--token', 'secret-token-value']);
    expect(down.code).toBe(1);
    expect(down.err).toBe(`ota: cannot reach http://127.0.0.1:${port}/v1/releases: ECONNREFUSED\n`);
    expect(down.err).not.toContain('secret-token-value');
  });
});

describe('ota artifact upload', () => {
  it('streams the file and prints {sha256, size}; a release naming it then publishes', async () => {
    const s = await listen();
    const dir = tempDir();
    const bytes = randomBytes(300_000);
    const file = join(dir, 'system.img');
    writeFileSync(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const up = await ota(['artifact', 'upload', file, '--server', s.url, '--token', s.tokens['release-manager']]);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.out)).toEqual({ sha256, size: bytes.length });
    const release = join(dir, 'release.json');
    writeJsonFile(release, signWith(releaseBody({ version: '1.4.3', artifact: { sha256, size: bytes.length } }), s.trust.releaseKeys));
    expect((await ota(['publish', release, '--server', s.url, '--token', s.tokens['release-manager']])).err).toBe('HTTP 201 Created\n');
    expect((await ota(['artifact', 'upload', join(dir, 'missing.img'), '--server', s.url, '--token', 'x'])).err).toBe(`ota: cannot read ${join(dir, 'missing.img')}: ENOENT\n`);
  });
});

describe('ota token create', () => {
  it('creates an operator token in DIR/ota.db and prints it once on stdout', async () => {
    const data = join(tempDir(), 'data');
    // The local form works on an existing database only (test/auth/tokens.test.ts: a typo never creates one).
    mkdirSync(data);
    openDatabase(join(data, 'ota.db')).close();
    const r = await ota(['token', 'create', '--role', 'release-manager', '--data', data, '--name', 'alice']);
    expect(r.code).toBe(0);
    const token = r.out.trim();
    expect(token).toMatch(/^ota_[A-Za-z0-9_-]{43}$/);
    expect(r.err).not.toContain(token);
    const sql = openSqlite(join(data, 'ota.db'));
    try {
      expect(await createOperatorTokenStore(sql).authenticate(token)).toMatchObject({ role: 'release-manager', name: 'alice' });
    } finally {
      await sql.close();
    }
    expect((await ota(['token', 'create', '--role', 'root', '--data', data])).err).toMatch(/^ota: --role must be one of admin, /);
  });
});

describe('ota serve', () => {
  it('starts the server from flags and closes when stopped', async () => {
    const trust = makeTrust();
    const stop = new AbortController();
    let resolveUrl: (url: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => (resolveUrl = resolve));
    const running = ota(['serve', '--data', join(tempDir(), 'data'), '--trust', trust.dir, '--port', '0', '--host', '127.0.0.1'], {
      env: { OTA_LOG_LEVEL: 'silent' },
      stop: stop.signal,
      // The banner is on stderr: stdout is the JSON log (`ota serve | jq`).
      onErr: (text) => {
        const m = /listening on (http:\/\/\S+)/.exec(text);
        if (m) resolveUrl(m[1] as string);
      },
    });
    const url = await listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/v1/trust/root`)).status).toBe(200);
    stop.abort();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^OTA server listening on http:\/\/127\.0\.0\.1:\d+ .*\nota: server closed\n$/s);
  });

  it('refuses a bad port with one line', async () => {
    expect((await ota(['serve', '--data', tempDir(), '--port', '70000'])).err).toBe('ota: --port must be an integer from 0 to 65535, got "70000"\n');
  });
});
