import { describe, expect, it } from 'vitest';
import { ota } from '../cli/cli-harness.js';
import { makeTrust } from '../helpers/fixtures.js';

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
