import { describe, expect, it } from 'vitest';
import { ota } from '../cli/cli-harness.js';
import { makeTrust } from '../helpers/fixtures.js';
import { api, LENIENT, publishOptinRelease, startLiveServer, startRollout } from './live-server.js';

describe('ota fleet simulate: options', () => {
  const base = ['fleet', 'simulate', '--server', 'http://127.0.0.1:9', '--devices', '3'];

  it('refuses bad values with one line naming the option', async () => {
    const trust = makeTrust();
    const cases: [string[], RegExp][] = [
      [['--root', trust.dir, '--enroll-token', 't', '--fail-rate', '1.5'], /--fail-rate must be a probability from 0 to 1, got "1.5"/],
      [['--root', trust.dir, '--enroll-token', 't', '--offline-rate', 'lots'], /--offline-rate must be a probability/],
      [['--root', trust.dir, '--enroll-token', 't', '--id-prefix', 'no spaces'], /--id-prefix must match/],
      [['--root', trust.dir, '--enroll-token', 't', '--opt-in', 'novalue'], /--opt-in must be KEY=VALUE/],
      [['--root', trust.dir, '--enroll-token', 't', '--progress', 'loud'], /--progress must be auto, tty, lines or none/],
      [['--root', trust.dir], /no enrollment token: pass --enroll-token or set OTA_ENROLL_TOKEN/],
      [['--root', '/nonexistent/root.json', '--enroll-token', 't'], /cannot read \/nonexistent\/root.json/],
    ];
    for (const [extra, message] of cases) {
      const r = await ota([...base, ...extra]);
      expect(r.code, extra.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    }
  });

  it('reports a server nobody can enroll with and exits 1', async () => {
    const trust = makeTrust();
    const r = await ota([...base, '--root', trust.dir, '--enroll-token', 't', '--duration', '1', '--progress', 'none']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/enrollment failed +3 \(network 3\)/);
    expect(r.err).toMatch(/ota: no device could enroll \(network: 3\)/);
  });
});

/**
 * issue 18: against the demo, `ota fleet simulate` saw 0 offers and did not say why (the demo
 * rollout sits at its `qa` stage, which offers only the members of cohort qa, protocol §5).
 */
describe('ota fleet simulate: a run that saw no offer says why', () => {
  it('names the serving rollouts, their stage and cohort with a reader token; without one, asks for it', async () => {
    const s = await startLiveServer();
    try {
      await publishOptinRelease(s);
      expect((await api(s, 'POST', '/v1/cohorts', s.tokens['release-manager'], { name: 'qa', members: ['bench-1'] })).status).toBe(201);
      await startRollout(s, { id: 'at-qa', releaseId: 'redmi-1s-optin', stages: [{ cohort: 'qa', basisPoints: 10000 }, { cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
      const run = (extra: string[]) => ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--root', s.rootFile,
        '--devices', '3', '--duration', '20', '--until-settled', '--drain', '2', '--progress', 'none', ...extra]);

      const blind = await run(['--id-prefix', 'blind']);
      expect(blind.code, blind.err).toBe(0);
      expect(blind.out).toMatch(/offers seen +0\n/);
      expect(blind.err).toContain('ota: no device was offered an update; pass --token (or set OTA_TOKEN) with a viewer token to see which rollouts run, at which stage and for which cohort\n');

      const told = await run(['--id-prefix', 'told', '--token', s.tokens.viewer]);
      expect(told.code, told.err).toBe(0);
      expect(told.err).toContain('ota: no device was offered an update. Rollouts serving now, and whom their reached stages offer (protocol §5):\n');
      expect(told.err).toMatch(/^ {2}at-qa \(release redmi-1s-optin\): running, stage 1 of 2; offers to cohort qa at 100\.00%$/m);
      expect(told.err).toMatch(/`ota rollout advance ID` moves a rollout past a stage such as qa/);

      // Past the qa stage the devices are offered the release, and nothing of the kind is said.
      expect((await api(s, 'POST', '/v1/rollouts/at-qa/advance', s.tokens['release-manager'])).status).toBe(200);
      const offered = await run(['--id-prefix', 'offered', '--token', s.tokens.viewer]);
      expect(offered.code, offered.err).toBe(0);
      expect(offered.out).toMatch(/offers seen +3\n/);
      expect(offered.err).not.toContain('no device was offered');
    } finally {
      await s.close();
    }
  }, 90_000);
});
