import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAudit } from '../../server/programs/cli/log-commands.js';
import { loadConfig } from '../../server/config.js';
import { publishRelease } from '../../server/releases/publish-service.js';
import { startServer, type Running } from '../../server/serve.js';
import { makeTrust, releaseBody, signWith, tempDir, type TrustFixture } from '../helpers/fixtures.js';
import { ota } from './cli-harness.js';

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

async function serve(dataDir: string, trust?: TrustFixture): Promise<Running> {
  const r = await startServer(loadConfig({}, { dataDir, port: 0, logLevel: 'silent', ...(trust ? { trustDir: trust.dir, demo: false } : {}) }), () => undefined);
  running.push(r);
  return r;
}

const audit = (r: Running, root: string, ...extra: string[]) => ota(['audit', '--server', r.url, '--root', root, ...extra], { now: new Date() });

/** A server on `trust` with `ids` published as settings-only releases (the consent setting to its safe value). */
async function serverWithReleases(trust: TrustFixture, ids: string[], dataDir = tempDir('ota-audit-')): Promise<{ r: Running; dataDir: string }> {
  const r = await serve(dataDir, trust);
  for (const id of ids) await publishRelease(signWith(releaseBody({ id }), trust.releaseKeys), 'test', r.ctx);
  return { r, dataDir };
}

describe('ota audit (protocol §8, from the outside)', () => {
  it('passes on the demo: every entry verified, the tree is the signed checkpoint, no consent setting enabled', async () => {
    const dataDir = tempDir('ota-demo-');
    const r = await serve(dataDir);
    const res = await audit(r, join(dataDir, 'trust', 'root.json'));
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^root +1 +1$/m);
    expect(res.out).toMatch(/^settings-policy +1 +1$/m);
    expect(res.out).toMatch(/^release +1 +1$/m);
    expect(res.out).toMatch(/^rollout +1 +1$/m);
    expect(res.out).toMatch(/cloud\.messaging\.enabled +default +false +false +no/);
    expect(res.out).toMatch(/no release in the log ever enabled a consent setting/);
    expect(res.out).toMatch(/^PASS: 4 entries verified/m);
    const json = JSON.parse((await audit(r, join(dataDir, 'trust', 'root.json'), '--json')).out) as { ok: boolean; entries: number; consentEnabled: number };
    expect(json).toMatchObject({ ok: true, entries: 4, consentEnabled: 0 });
  });

  it('--state keeps the checkpoint and proves the next one extends it', async () => {
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, ['first']);
    const state = join(tempDir(), 'kept.json');
    expect((await audit(r, join(trust.dir, 'root.json'), '--state', state)).code).toBe(0);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ origin: 'ota.local/log', size: 3 });
    await publishRelease(signWith(releaseBody({ id: 'second' }), trust.releaseKeys), 'test', r.ctx);
    const next = await audit(r, join(trust.dir, 'root.json'), '--state', state);
    expect(next.code).toBe(0);
    expect(next.out).toMatch(/consistency with the checkpoint kept in .* \(size 3\): ok/);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ size: 4 });
  });

  it('fails naming the index when a stored entry is edited', async () => {
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, ['first', 'second']);
    await r.ctx.sql.run("UPDATE log_entries SET entry = replace(entry, '\"mandatory\":false', '\"mandatory\":true') WHERE idx = 3");
    const res = await audit(r, join(trust.dir, 'root.json'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^FAIL: entry 3: release second: .*signature/m);
    expect(res.out).toMatch(/entry 3 is not the entry the signed checkpoint commits to/);
  });

  it('fails naming the index when a stored entry is deleted', async () => {
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, ['first', 'second', 'third']);
    await r.ctx.sql.run('DELETE FROM log_entries WHERE idx = 3');
    const res = await audit(r, join(trust.dir, 'root.json'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^FAIL: entry 3: entry 3 is not the entry the signed checkpoint commits to/m);
  });

  it('fails when the log is swapped for another of the same size: a signed fork of the checkpoint it kept', async () => {
    const trust = makeTrust();
    const a = await serverWithReleases(trust, ['first', 'second']);
    const b = await serverWithReleases(trust, ['other-1', 'other-2']);
    const state = join(tempDir(), 'kept.json');
    expect((await audit(a.r, join(trust.dir, 'root.json'), '--state', state)).code).toBe(0);
    // Swap a's log for b's (same trust, same size), then restart a: it now serves and signs b's log.
    const bDb = join(b.dataDir, 'ota.db');
    await a.r.ctx.sql.exec(`ATTACH DATABASE '${bDb}' AS other;
      DELETE FROM log_entries; DELETE FROM log_nodes;
      INSERT INTO log_entries SELECT * FROM other.log_entries; INSERT INTO log_nodes SELECT * FROM other.log_nodes;
      DETACH DATABASE other;`);
    await a.r.close();
    const restarted = await serve(a.dataDir, trust);
    const fresh = await audit(restarted, join(trust.dir, 'root.json'));
    expect(fresh.code).toBe(0);
    const kept = await audit(restarted, join(trust.dir, 'root.json'), '--state', state);
    expect(kept.code).toBe(1);
    expect(kept.out).toMatch(/^FAIL: entry 3: forked log: size 4 with another root than the checkpoint kept last time \(size 4\)/m);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ size: 4 });
  });

  it('fails on a log from another trust root (entry 0 is not the trusted root)', async () => {
    const { r } = await serverWithReleases(makeTrust(), ['first']);
    const res = await audit(r, join(makeTrust().dir, 'root.json'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^FAIL: entry 0: root v1: root v1 differs from the trusted root v1/m);
  });

  it('leaves room for other audit subcommands (ota audit log) without their needing --root', async () => {
    const program = new Command().exitOverride();
    const calls: string[] = [];
    const auditCmd = registerAudit(program, { out: () => undefined, err: () => undefined, env: {}, now: () => new Date() }, () => undefined);
    auditCmd.command('log').option('--verify').action(() => void calls.push('log'));
    await program.parseAsync(['audit', 'log', '--verify'], { from: 'user' });
    expect(calls).toEqual(['log']);
    const missing = await ota(['audit', '--server', 'http://127.0.0.1:1']);
    expect(missing).toMatchObject({ code: 1, err: 'ota: ota audit needs --root\n' });
  });

  it('finds the server as every command does: --server, else OTA_SERVER, else the ota login profile (issue 18)', async () => {
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, ['first']);
    const root = join(trust.dir, 'root.json');
    const env = { HOME: tempDir() };
    const token = (await r.ctx.operatorTokens.create('qa', 'auditor', '2026-11-24T12:00:00Z')).token;
    expect((await ota(['login', '--server', r.url, '--token', token], { env })).code).toBe(0);
    const fromProfile = await ota(['audit', '--root', root], { env, now: new Date() });
    expect(fromProfile.err).toBe('');
    expect(fromProfile.code).toBe(0);
    expect(fromProfile.out.startsWith(`ota audit: ${r.url} log `)).toBe(true);
    expect(fromProfile.out).toMatch(/^PASS: 3 entries verified/m);
    expect((await ota(['audit', '--root', root], { env: { OTA_SERVER: r.url }, now: new Date() })).code).toBe(0);
    // `ota audit log` reads the same profile, server and token.
    const log = await ota(['audit', 'log', '--verify'], { env });
    expect(log.code, log.err).toBe(0);
    expect(log.out).toMatch(/\nPASS: \d+ entries, each hash recomputed/);
    expect(await ota(['audit', '--root', root], { env: { HOME: tempDir() } })).toMatchObject({ code: 1, err: 'ota: no server: pass --server URL, set OTA_SERVER, or run ota login --server URL once\n' });
  });
});

describe('ota audit on a long log', () => {
  it('draws progress on a terminal\'s stderr, and names the first entry of an unknown type', async () => {
    const { auditTransparencyLog } = await import('../../server/programs/cli/audit-command.js');
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, []);
    await r.ctx.sql.transaction(async () => {
      for (let i = 0; i < 2100; i++) (await r.ctx.log.append({ signed: { type: 'filler', n: i }, signatures: [] }, '2026-11-24T12:00:00Z'));
    });
    await r.ctx.log.refresh();
    let out = '';
    let err = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), env: {}, now: () => new Date(), errIsTTY: true };
    expect(await auditTransparencyLog({ server: r.url, root: join(trust.dir, 'root.json') }, io)).toBe(1);
    expect(err).toContain('\rota audit: 1000/2102 entries (47%)');
    expect(err).toContain('\rota audit: 2102/2102 entries (100%)\n');
    expect(out).toMatch(/^FAIL: entry 2: not a signed document of a known type$/m);
    expect(out).toMatch(/^unknown +2100 +0$/m);
    err = '';
    expect(await auditTransparencyLog({ server: r.url, root: join(trust.dir, 'root.json') }, { ...io, errIsTTY: false })).toBe(1);
    expect(err).toBe('');
  }, 30_000);
});

describe('ota audit when the server serves no entries', () => {
  it('fails at entry 0: a log without the trust root is not this server\'s history', async () => {
    const trust = makeTrust();
    const { r } = await serverWithReleases(trust, []);
    await r.ctx.sql.run('DELETE FROM log_entries');
    const res = await audit(r, join(trust.dir, 'root.json'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^FAIL: entry 0: /m);
  });
});
