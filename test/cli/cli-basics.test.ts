import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectDistBuilt } from '../helpers/server-process.js';
import { LENIENT, publishOptinRelease, startLiveServer, startRollout } from '../fleet/live-server.js';
import { ota } from './cli-harness.js';

describe('ota --version, required options in --help, Ctrl-C (issue 9)', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await ota(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
    expect((await ota(['-V'])).out).toBe(`${version}\n`);
    // After a command, --version is the command's own option (the simulated devices' installed version).
    const sim = await ota(['fleet', 'simulate', '--version', '1.0.0', '--devices', '1', '--progress', 'none'], { env: {} });
    expect(sim.out).not.toBe(`${version}\n`);
    expect(sim.err).toContain('no enrollment token');
  });

  it('--help marks every required option, and only those', async () => {
    /** Each option's help entry (commander wraps long descriptions). */
    const entries = async (argv: string[]) =>
      new Map((await ota([...argv, '--help'])).out.split(/\n\s+(?=-)/).slice(1).map((e) => [(/--[a-z-]+/.exec(e) as RegExpExecArray)[0], e.replace(/\s+/g, ' ')]));
    const create = await entries(['rollout', 'create']);
    for (const o of ['--release', '--stage', '--max-failure-percent', '--min-terminal', '--report-timeout']) expect(create.get(o), o).toMatch(/\(required\)$/);
    for (const o of ['--id', '--server', '--token', '--json']) expect(create.get(o), o).not.toContain('(required)');
    expect((await entries(['token', 'create'])).get('--role')).toMatch(/\(required\)$/);
    expect((await entries(['login'])).get('--server')).toMatch(/\(required\)$/);
    expect([...(await entries(['rollout', 'status'])).values()].join()).not.toContain('(required)');
  });

  it('Ctrl-C on fleet simulate stops polling, delivers queued reports, prints the tally and exits 130', async () => {
    const s = await startLiveServer();
    try {
      await publishOptinRelease(s);
      await startRollout(s, { id: 'ctrl-c', releaseId: 'redmi-1s-optin', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 2500).unref();
      // A duration far beyond the test's timeout: ending at all shows the interrupt stopped the run.
      const r = await ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--root', s.rootFile,
        '--devices', '20', '--duration', '600', '--drain', '10', '--seed', 'ctrl-c', '--progress', 'none', '--json'], { stop: stop.signal });
      expect(r.code, r.err).toBe(130);
      expect(r.err).toContain('ota: interrupted: stopping; delivering queued reports first (Ctrl-C again to quit now)\n');
      expect(r.err).toContain('ota: interrupted: the tally above is what the devices saw until then\n');
      const tally = JSON.parse(r.out) as { enrolled: number; pendingReports: number };
      expect(tally.enrolled).toBeGreaterThan(0);
      expect(tally.pendingReports).toBe(0);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('`ota … | head`: a reader that leaves early ends the command quietly, not with an EPIPE stack (issue 18)', async () => {
    expectDistBuilt();
    const bin = fileURLToPath(new URL('../../bin/ota.js', import.meta.url));
    for (const argv of [['--help'], ['keygen', '--help'], ['rollout', 'status', '--help']]) {
      const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the first line is written, as `head -0` would be.
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect({ argv, code, err }).toEqual({ argv, code: 0, err: '' });
    }
  });
});
