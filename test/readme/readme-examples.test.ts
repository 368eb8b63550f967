import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { demoImage } from '../../server/demo/demo-setup.js';
import { startServer } from '../../server/serve.js';
import { ota, type CliResult } from '../cli/cli-harness.js';
import { tempDir } from '../helpers/fixtures.js';
import { unusedPort } from '../helpers/ports.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** README lines with `\` continuations joined, comments kept (stripped when split). */
const readmeLines = README.split('\n').reduce<string[]>((acc, line) => {
  const prev = acc[acc.length - 1];
  if (prev !== undefined && /\\\s*$/.test(prev.replace(/\s+#.*$/, ''))) acc[acc.length - 1] = `${prev.replace(/\\\s*$/, '')} ${line.trim()}`;
  else acc.push(line);
  return acc;
}, []);

/**
 * The README lines that start (after indentation) with `start`, or equal it
 * with `exact`: the example must be there, as written, `count` times.
 */
function readmeLine(start: string, opts: { exact?: boolean; count?: number } = {}): string {
  const found = readmeLines.map((l) => l.trim()).filter((l) => (opts.exact ? l === start : l.startsWith(start)));
  expect(found, `README.md has ${opts.count ?? 1} line(s) ${opts.exact ? 'equal to' : 'starting with'}: ${start}`).toHaveLength(opts.count ?? 1);
  return found[0] as string;
}

/** Words of one shell command: quotes, $VAR and "$VAR", comments; nothing else (the examples need nothing else). */
function words(command: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(#.*$)|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) {
    if (m[3] !== undefined) break;
    const raw = m[1] ?? m[2] ?? m[4] ?? '';
    out.push(m[2] !== undefined ? raw : raw.replace(/\$([A-Z_]+)/g, (_, v: string) => env[v] ?? ''));
  }
  return out;
}

/**
 * The README's examples, in order, on a fresh folder (issue 9 acceptance):
 * each step is a README line found verbatim, then run. Only what cannot
 * run in a test is mapped: `~/ota-keys` and relative paths to a temp
 * folder, the placeholder key names to the keys keygen made, port 8080 to
 * a free one.
 */
describe('README examples, in order, as written', () => {
  it('keygen → trust init → serve → sign → verify → publish → cohorts → rollout → halt → resume → clone', async () => {
    const base = tempDir('ota-readme-');
    const port = await unusedPort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = { HOME: join(base, 'home') };
    const keys: { root: string[]; release: string[] } = { root: [], release: [] };
    const placeholders: [RegExp, () => string][] = [
      [/^~\/ota-keys\/root-1111aaaa\.key\.json$/, () => keys.root[0] as string],
      [/^~\/ota-keys\/root-2222bbbb\.key\.json$/, () => keys.root[1] as string],
      [/^~\/ota-keys\/release-3333cccc\.(key|pub)\.json$/, () => keys.release[0] as string],
      [/^~\/ota-keys\/release-4444dddd\.(key|pub)\.json$/, () => keys.release[1] as string],
    ];
    const mapWord = (w: string, prev: string | undefined, i: number): string => {
      const ph = placeholders.find(([re]) => re.test(w));
      if (ph) {
        const priv = ph[1]();
        return w.endsWith('.pub.json') ? priv.replace(/\.key\.json$/, '.pub.json') : priv;
      }
      if (w === '~/ota-keys') return join(base, 'ota-keys');
      if (w === 'manifests/policy.json' || w.startsWith('manifests/examples/')) return join(repoRoot, w);
      if (['release.json', 'redmi-1s-1.4.3.img'].includes(w)) return join(base, w);
      // Folder arguments of options (`ota trust init` keeps its subcommand word).
      if (['trust', 'data', 'server-data'].includes(w) && i > 0 && prev?.startsWith('--')) return join(base, w);
      return w.replace('http://127.0.0.1:8080', url);
    };
    const runOta = async (command: string, opts: { stop?: AbortSignal } = {}): Promise<CliResult> => {
      const argv = words(command, env);
      if (argv[0] === 'npx') argv.shift();
      expect(argv[0], command).toBe('ota');
      const mapped = argv.slice(1).map((w, i, all) => mapWord(w, all[i - 1], i));
      return ota(mapped, { env, ...opts });
    };
    /** One README line: `cp`, the image line, `export`/`VAR=$(…)` assignments, `a && b`, or an ota command. */
    const step = async (start: string, expectCode = 0, opts: { exact?: boolean; count?: number } = {}): Promise<CliResult[]> => {
      const line = readmeLine(start, opts);
      const results: CliResult[] = [];
      for (const part of line.replace(/\s+#.*$/, '').split(' && ')) {
        const assign = /^(?:export )?([A-Z_]+)=(?:\$\((.*)\)|(\S+))$/.exec(part.trim());
        if (part.startsWith('cp ')) {
          const [, from, to] = words(part, env);
          copyFileSync(join(repoRoot, from as string), join(base, to as string));
        } else if (part.startsWith('node -e ')) {
          // Run by the shell, as written; the bytes must be the image the example manifest pins.
          execFileSync('sh', ['-c', part], { cwd: base });
          expect(readFileSync(join(base, (/> (\S+)$/.exec(part) as RegExpExecArray)[1] as string)).equals(demoImage())).toBe(true);
        } else if (assign) {
          if (assign[2] !== undefined) {
            const r = await runOta(assign[2]);
            expect(r.code, `${assign[2]}\n${r.err}`).toBe(0);
            env[assign[1] as string] = r.out.trim();
          } else env[assign[1] as string] = (assign[3] as string).replace('http://127.0.0.1:8080', url);
        } else {
          const r = await runOta(part);
          expect(r.code, `${part}\n${r.out}\n${r.err}`).toBe(expectCode);
          results.push(r);
        }
      }
      return results;
    };

    // Release manager's offline flow.
    const keygens = readmeLines.map((l) => l.trim()).filter((l) => l.startsWith('npx ota keygen'));
    expect(keygens).toHaveLength(4);
    for (const line of keygens) {
      const r = await runOta(line);
      expect(r.code, r.err).toBe(0);
      keys[(/--role (\S+)/.exec(line) as RegExpExecArray)[1] as 'root' | 'release'].push((/^private key:\s+(\S+)/m.exec(r.out) as RegExpExecArray)[1] as string);
    }
    await step('npx ota trust init --out trust');

    // A new user ran `npm start` first (Quick start): `data/` is bound to the dev trust root, so the
    // README's server must use another folder (issue 18: `--data data` was refused at start-up).
    const dev = await startServer(loadConfig({ OTA_LOG_LEVEL: 'warn' }, { dataDir: join(base, 'data'), port: 0 }), () => {});
    await dev.close();

    // The server, as the README starts it (on a free port).
    const stop = new AbortController();
    Object.assign(env, { PORT: String(port), OTA_LOG_LEVEL: 'warn' });
    const serveLine = readmeLine('`npx ota serve --data ').replace(/`/g, '').replace(/\.$/, '');
    const serving = runOta(serveLine, { stop: stop.signal });
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
        if (!up) await Promise.race([new Promise((r) => setTimeout(r, 100)), serving]);
      }
      expect(up, `${serveLine} did not start: ${(await Promise.race([serving, Promise.resolve(undefined)]))?.err ?? ''}`).toBe(true);
      await step('cp manifests/examples/redmi-1s-cloud-optin.release.json release.json');
      await step('node -e "process.stdout.write(Buffer.alloc(1048576');
      await step('npx ota sign release.json --key ~/ota-keys/release-3333cccc.key.json --root trust');
      await step('npx ota sign release.json --key ~/ota-keys/release-4444dddd.key.json --root trust');
      const [verified] = await step('npx ota verify release.json --root trust');
      expect(verified?.out).toMatch(/^OK release redmi-1s-cloud-optin-2014-08/);
      await step('export OTA_SERVER=http://127.0.0.1:8080');
      await step('export OTA_TOKEN=$(npx ota token create --role release-manager --data server-data)');
      await step('npx ota artifact upload redmi-1s-1.4.3.img');
      const [published] = await step('npx ota publish release.json');
      expect(published?.err).toBe('HTTP 201 Created\n');

      // Cohorts and rollouts.
      await step('ota cohort create qa --description "QA bench" --member dev-1 dev-2');
      await step('ota cohort create eu-beta --model redmi-1s');
      await step('ota cohort list');
      await step('ota cohort show qa');
      await step('ota cohort members qa --member dev-3 dev-4');
      await step('ota rollout create --release redmi-1s-cloud-optin-2014-08 --id optin');
      await step('ota rollout list');
      await step('ota release list');
      await step('ota release show redmi-1s-cloud-optin-2014-08');
      await step('ota artifact list');

      // The halt path.
      await step('ota rollout start optin', 0, { exact: true });
      await step('ota rollout advance optin && ota rollout advance optin');
      await step('ENROLL=$(npx ota token create --role enroller --data server-data)');
      const [sim] = await step('npx ota fleet simulate --enroll-token "$ENROLL" --root trust --devices 200');
      expect(sim?.out).toContain('HALTED: rollout optin was halted automatically');
      const [status] = await step('ota rollout status optin          #');
      expect(status?.out).toContain('HALTED: rollout optin');
      await step('ota rollout status optin --json');
      const [failed] = await step('ota rollout devices optin --state failed', 0, { exact: true });
      expect(failed?.out).toMatch(/\nerror codes: \S+ \d+\n/);
      const [refused] = await step('ota rollout resume optin                                   #', 1);
      expect(refused?.err).toMatch(/^ota: invalid_transition: cannot resume a halted rollout: a halt must be acknowledged/);
      const [resumed] = await step('ota rollout resume optin --acknowledge-halt --reason "the failures');
      expect(resumed?.out).toMatch(/running, stage 3 of 3/);
      await step('ota rollout clone optin --id optin-2', 0, { exact: true });
      const [, started] = await step('ota rollout cancel optin && ota rollout start optin-2', 0, { exact: true, count: 2 });
      expect(started?.out).toMatch(/^rollout optin-2 \(release redmi-1s-cloud-optin-2014-08\): running, stage 1 of 3/);

      // Fleet lifecycle (protocol §7).
      const [retired] = await step('ota device decommission sim-7-1');
      expect(retired?.out).toMatch(/^decommissioned sim-7-1/);
      const [withdrawn] = await step('ota device cancel-update sim-7-2 --rollout optin-2');
      expect(withdrawn?.out).toMatch(/^cancelled rollout optin-2's update of sim-7-2/);
      const [edited] = await step('ota cohort edit eu-beta --description "EU beta testers" --attribute region=eu');
      expect(edited?.out).toBe('updated cohort eu-beta: 0 explicit members; rule: region=eu\n');
      await step('ota cohort delete eu-beta');
      const [unreferenced] = await step('ota artifact prune --dry-run');
      expect(unreferenced?.out).toMatch(/^no unreferenced artifacts/);
      const [pruned] = await step('ota artifact prune                     #');
      expect(pruned?.out).toMatch(/^no unreferenced artifacts/);
      const [tightened] = await step('ota rollout policy optin-2 --max-failure-percent 2.5');
      expect(tightened?.out).toMatch(/^rollout optin-2 failure policy: halt above 2\.50% of at least /);
      const [yanked] = await step('ota release withdraw redmi-1s-cloud-optin-2014-08 --reason');
      expect(yanked?.out).toMatch(/^withdrew release redmi-1s-cloud-optin-2014-08 .*\nits rollouts: optin, optin-2\n$/);
    } finally {
      stop.abort();
      await serving;
    }
  }, 120_000);
});
