import { Option, type Command } from 'commander';
import type { SettingValue } from '../../protocol/trust/settings-policy.js';
import type { SimulateFlags } from './fleet-command.js';
import { CliError, intOption, type CliIo } from './io.js';
import type { QaFlags } from './qa-command.js';

/**
 * `ota fleet simulate` and `ota qa verify` as commands. Each action loads
 * its command's module when it runs (the device agent and its verification
 * core, the QA checks), so `ota --help` and the other commands start
 * without them.
 */

const rate = (name: string) => (raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new CliError(`${name} must be a probability from 0 to 1, got "${raw}"`);
  return n;
};

const seconds = (name: string, max: number) => (raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new CliError(`${name} must be a number of seconds from 0 to ${max}, got "${raw}"`);
  return n;
};

/** `key=value`: true/false → boolean, an integer → number, anything else → string. */
function settingOf(name: string, raw: string): { key: string; value: SettingValue } {
  const at = raw.indexOf('=');
  if (at <= 0) throw new CliError(`${name} must be KEY=VALUE, got "${raw}"`);
  const text = raw.slice(at + 1);
  const value: SettingValue = text === 'true' ? true : text === 'false' ? false : /^-?[0-9]{1,15}$/.test(text) ? Number(text) : text;
  return { key: raw.slice(0, at), value };
}

export function registerFleet(program: Command, io: CliIo, exit: (code: number) => void): void {
  const fleet = program.command('fleet').description('simulated device fleets (reference agents over real HTTP)');
  fleet
    .command('simulate')
    .description('enroll N in-process reference device agents, poll and install in rounds for --duration seconds, then print their tally')
    .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080 (default: $OTA_SERVER, then ota login)')
    .option('--enroll-token <token>', "enrollment credential for POST /v1/devices; with --protocol mender a release manager's token that preauthorizes each device (default: $OTA_ENROLL_TOKEN)")
    .addOption(new Option('--protocol <protocol>', 'native agents (protocol §7), hawkBit DDI controllers behaving like a stock SWUpdate (§11), or stock Mender clients (§12)').choices(['native', 'ddi', 'mender']).default('native'))
    .option('--gateway-token <token>', 'with --protocol ddi: a token of the gateway role, which registers each controller (default: $OTA_GATEWAY_TOKEN)')
    .option('--token <token>', 'operator token with read access, to report whether the rollouts halted (default: $OTA_TOKEN, then ota login)')
    .option('--root <file>', 'root.json every native device ships with (or a trust folder: its root.json); not used with --protocol ddi')
    .requiredOption('--devices <n>', 'number of devices', intOption('--devices', 1, 1_000_000))
    .option('--model <model>', 'device model', 'redmi-1s')
    .option('--version <version>', 'installed (factory) system version', '1.4.1')
    .option('--fail-rate <p>', 'probability that a device fails to install a release', rate('--fail-rate'), 0)
    .option('--offline-rate <p>', 'probability that a device loses its network during a round', rate('--offline-rate'), 0)
    .option('--user-optin-rate <p>', 'probability that the user opted in (--opt-in) before any update', rate('--user-optin-rate'), 0)
    .option('--duration <s>', 'seconds the simulation runs (enrollment and polling), then it stops by itself', seconds('--duration', 7 * 24 * 3600), 60)
    .option('--concurrency <n>', 'devices enrolling or checking at the same time', intOption('--concurrency', 1, 10_000), 32)
    .option('--id-prefix <prefix>', 'device ids are PREFIX-0 … PREFIX-(N-1) (default: sim-SEED); must be new to the server')
    .option('--seed <seed>', 'seed of every random choice (default: random, printed)')
    .option('--interval <s>', 'seconds between the starts of two polling rounds (pollAfterSeconds is not waited for)', seconds('--interval', 3600), 1)
    .option('--until-settled', 'stop polling before --duration once every device is enrolled and a whole round changed nothing')
    .option('--drain <s>', 'after the duration, seconds allowed to deliver queued reports with every device online', seconds('--drain', 3600), 30)
    .option('--factory-setting <key=value>', 'a factory setting, source default (repeatable; default cloud.messaging.enabled=true)',
      (raw: string, prev: Record<string, SettingValue> | undefined) => {
        const s = settingOf('--factory-setting', raw);
        return { ...(prev ?? {}), [s.key]: s.value };
      })
    .addOption(new Option('--opt-in <key=value>', 'the setting a user who opts in sets by hand')
      .argParser((raw: string) => settingOf('--opt-in', raw))
      .default({ key: 'cloud.messaging.enabled', value: true }, 'cloud.messaging.enabled=true'))
    .option('--progress <mode>', 'auto (a live line on a TTY), tty, lines or none', 'auto')
    .option('--json', 'print the tally as JSON instead of tables')
    .action(async (flags: Omit<SimulateFlags, 'factorySetting'> & { factorySetting?: Record<string, SettingValue> }) => {
      if (!['auto', 'tty', 'lines', 'none'].includes(flags.progress)) throw new CliError(`--progress must be auto, tty, lines or none, got "${flags.progress}"`);
      exit(await (await import('./fleet-command.js')).fleetSimulate({ ...flags, factorySetting: flags.factorySetting ?? { 'cloud.messaging.enabled': true } }, io));
    });
}

export function registerQa(program: Command, io: CliIo, exit: (code: number) => void): void {
  const qa = program.command('qa').description('independent checks for QA');
  qa.command('verify')
    .description('re-verify a rollout from the pinned root: signatures, statements, sampled devices\' eligibility, settings compliance, audit chain; exit 1 on any FAIL')
    .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080 (default: $OTA_SERVER, then ota login)')
    .option('--token <token>', 'operator token with read access, role qa (default: $OTA_TOKEN, then ota login)')
    .requiredOption('--root <file>', 'the root.json QA trusts (or a trust folder: its root.json); the chain is walked from it')
    .requiredOption('--rollout <id>', 'rollout id')
    .option('--sample <n>', 'devices whose eligibility is recomputed (0 = all listed)', intOption('--sample', 0, 10_000_000), 200)
    .option('--seed <seed>', 'seed of the device sample (default: random, printed)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: QaFlags) => exit(await (await import('./qa-command.js')).qaVerifyCommand(flags, io)));
}
