import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(repoRoot, 'dist/server/main.js');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** `npm start`'s server (dev trust, demo on) as a child; resolves with its banner once complete (and all it wrote since). */
function startDev(dataDir: string, logLevel = 'silent'): Promise<{ proc: ChildProcess; banner: string; output: () => string }> {
  const { OTA_TRUST_DIR: _t, OTA_DEMO: _d, ...env } = process.env;
  const proc = spawn(process.execPath, [MAIN], {
    cwd: repoRoot,
    env: { ...env, OTA_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OTA_LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  return new Promise((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the server did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!/health: curl \S+\/healthz/.test(out)) return;
      clearTimeout(timer);
      done({ proc, banner: out, output: () => out });
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Settled already once the banner was complete.
      fail(new Error(`the server exited (${code ?? signal}) before its banner was complete: ${out}`));
    });
  });
}

const stop = (proc: ChildProcess): Promise<void> =>
  new Promise((done) => {
    proc.once('exit', () => done());
    proc.kill('SIGTERM');
  });

const commandAfter = (banner: string, heading: string): string => (new RegExp(`${heading}:\\n {2}(.+)\\n`).exec(banner) as RegExpExecArray)[1] as string;
const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('the enroll and poll commands npm start prints (issue 9)', () => {
  it('work on the first start and again after a restart', async () => {
    expect(inject('distBuild').emitted, inject('distBuild').output).toBe(true);
    const data = tempDir();
    for (const round of [1, 2]) {
      const { proc, banner } = await startDev(data);
      const enroll = commandAfter(banner, 'enroll the demo device');
      const pollCmd = commandAfter(banner, 'poll for its update');
      expect(banner).not.toMatch(/ota_[A-Za-z0-9_-]{43}|dev_[A-Za-z0-9_-]{20,}/); // no token is printed
      expect(sh(enroll)).toBe(`${round === 1 ? 'enrolled' : 're-enrolled'} demo-qa-1 (redmi-1s 1.4.1); its device token is saved in ${join(data, 'demo-device.json')}\n`);
      const answer = JSON.parse(sh(pollCmd)) as { updates: { release: { signed: { id: string } } }[] };
      expect(answer.updates.map((u) => u.release.signed.id)).toEqual(['redmi-1s-cloud-optin-2014-08']);
      // Running the enroll command twice in one session works too.
      expect(sh(enroll)).toMatch(/^re-enrolled demo-qa-1 /);
      expect(JSON.parse(sh(pollCmd))).toMatchObject({ updates: [{}] });
      // The built server finds what the build made beside it: the dashboard and the OpenAPI document.
      const url = (/health: curl (\S+)\/healthz/.exec(banner) as RegExpExecArray)[1] as string;
      expect((await fetch(`${url}/ui/`)).status).toBe(200);
      expect(((await (await fetch(`${url}/v1/openapi.json`)).json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
      await stop(proc);
    }
  }, 60_000);

  it('logs why it stopped, and prints no poll command once the demo rollout is cancelled (issue 18)', async () => {
    expect(inject('distBuild').emitted, inject('distBuild').output).toBe(true);
    const data = tempDir();
    const first = await startDev(data, 'info');
    const url = (/health: curl (\S+)\/healthz/.exec(first.banner) as RegExpExecArray)[1] as string;
    const tokens = JSON.parse(readFileSync(join(data, 'dev-tokens.json'), 'utf8')) as Record<string, string>;
    const cancelled = await fetch(`${url}/v1/rollouts/cloud-optin-demo/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${tokens['release-manager']}` } });
    expect(cancelled.status).toBe(200);
    await stop(first.proc);
    const logLines = first.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines.filter((l) => l.msg === 'server listening')).toHaveLength(1);
    expect(logLines.filter((l) => l.msg === 'server stopped')).toEqual([expect.objectContaining({ level: 30, reason: 'SIGTERM', url })]);

    const second = await startDev(data);
    expect(second.banner).toContain('enroll the demo device:');
    expect(second.banner).not.toContain('poll for its update');
    expect(second.banner).toContain('demo: rollout cloud-optin-demo is cancelled: no demo poll command');
    await stop(second.proc);
  }, 60_000);
});
