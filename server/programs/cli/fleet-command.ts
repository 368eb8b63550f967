import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { simulateFleet, type FleetOptions, type FleetProgress } from '../fleet/fleet-simulator.js';
import { progressLine, summaryLines } from '../fleet/fleet-summary.js';
import { parseRoot } from '../../protocol/trust/root.js';
import type { SettingValue } from '../../protocol/trust/settings-policy.js';
import { parseFile } from './cli-files.js';
import { CliError, intOption, println, type CliIo } from './io.js';
import { haltNotice, type WatchedRollout } from './halt-notice.js';
import { apiRequest, segment, serverUrl } from './http-client.js';
import { resolveServer, resolveToken } from './profile.js';

interface SimulateFlags {
  server?: string;
  enrollToken?: string;
  /** An operator token with read access: after the run, each rollout seen is looked up to say whether it halted. */
  token?: string;
  /** Required for native devices (they ship with it); DDI devices cannot verify signatures. */
  root?: string;
  /** native agents; hawkBit DDI controllers (protocol §11); stock Mender clients (protocol §12). */
  protocol: 'native' | 'ddi' | 'mender';
  /** A `gateway`-role token (DDI devices register with it). */
  gatewayToken?: string;
  devices: number;
  model: string;
  version: string;
  failRate: number;
  offlineRate: number;
  userOptinRate: number;
  duration: number;
  concurrency: number;
  idPrefix?: string;
  seed?: string;
  interval: number;
  drain: number;
  untilSettled?: boolean;
  factorySetting: Record<string, SettingValue>;
  optIn: { key: string; value: SettingValue };
  progress: 'auto' | 'tty' | 'lines' | 'none';
  json?: boolean;
}

const ID_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,100}$/;

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

/** A root.json, or a trust folder (its root.json): the root every simulated device ships with. */
function pinnedRootOf(path: string): unknown {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'root.json');
  } catch {
    // parseFile names the missing file.
  }
  return parseFile(file, parseRoot);
}

/** Progress on stderr: one line rewritten in place on a TTY, a line every few seconds otherwise. */
function progressWriter(mode: SimulateFlags['progress'], io: CliIo): { onProgress?: (p: FleetProgress) => void; intervalMs: number; end(): void } {
  const tty = mode === 'tty' || (mode === 'auto' && process.stderr.isTTY === true && io.env.TERM !== 'dumb');
  if (mode === 'none') return { intervalMs: 0, end: () => undefined };
  if (!tty) return { onProgress: (p) => println(io.err, progressLine(p)), intervalMs: 5000, end: () => undefined };
  let drawn = false;
  return {
    onProgress: (p) => {
      drawn = true;
      io.err(`\r${progressLine(p)}\u001b[K`);
    },
    intervalMs: 250,
    end: () => {
      if (drawn) io.err('\n');
    },
  };
}

/**
 * After the run: where each rollout the devices saw stands (GET /v1/rollouts/{id}),
 * so a halt is said plainly. Needs a reader's token; without one, says so.
 */
async function rolloutsAfter(ids: string[], server: string, flags: SimulateFlags, io: CliIo): Promise<WatchedRollout[] | undefined> {
  const token = resolveToken(flags.token, io);
  if (!ids.length) return [];
  if (!token) {
    println(io.err, 'ota: pass --token (or set OTA_TOKEN) with a viewer token to see whether the rollouts halted during the run');
    return undefined;
  }
  const out: WatchedRollout[] = [];
  for (const id of ids) {
    const reply = await apiRequest({ server, token }, io, { method: 'GET', path: `/v1/rollouts/${segment(id)}` });
    if (reply) out.push(reply.body as WatchedRollout);
  }
  return out;
}

export async function fleetSimulate(flags: SimulateFlags, io: CliIo): Promise<number> {
  const ddi = flags.protocol === 'ddi';
  const enrollToken = ddi ? (flags.gatewayToken ?? io.env.OTA_GATEWAY_TOKEN) : (flags.enrollToken ?? io.env.OTA_ENROLL_TOKEN);
  if (!enrollToken) {
    throw new CliError(ddi ? 'no gateway token: pass --gateway-token or set OTA_GATEWAY_TOKEN (a token of the gateway role)' : 'no enrollment token: pass --enroll-token or set OTA_ENROLL_TOKEN');
  }
  if (!ddi && flags.root === undefined) throw new CliError('native devices ship with a root: pass --root <file>');
  const server = resolveServer(flags.server, io);
  serverUrl(server);
  const seed = flags.seed ?? randomBytes(4).toString('hex');
  const idPrefix = flags.idPrefix ?? `sim-${seed}`;
  if (!ID_PREFIX.test(idPrefix)) throw new CliError(`--id-prefix must match ${ID_PREFIX.source} (device ids are PREFIX-N), got "${idPrefix}"`);
  const progress = progressWriter(flags.progress, io);
  const controller = new AbortController();
  const onSignal = (): void => {
    // The first Ctrl-C stops polling and drains queued reports; a second one (default SIGINT) quits at once.
    println(io.err, 'ota: interrupted: stopping; delivering queued reports first (Ctrl-C again to quit now)');
    controller.abort();
  };
  if (!io.stop) process.once('SIGINT', onSignal);
  io.stop?.addEventListener('abort', onSignal, { once: true });

  const options: FleetOptions = {
    server: server.replace(/\/+$/, ''),
    enrollToken,
    pinnedRoot: ddi ? undefined : pinnedRootOf(flags.root as string),
    protocol: flags.protocol,
    devices: flags.devices,
    model: flags.model,
    version: flags.version,
    failRate: flags.failRate,
    offlineRate: flags.offlineRate,
    userOptinRate: flags.userOptinRate,
    durationSeconds: flags.duration,
    concurrency: flags.concurrency,
    idPrefix,
    seed,
    intervalSeconds: flags.interval,
    drainSeconds: flags.drain,
    untilSettled: flags.untilSettled,
    factorySettings: flags.factorySetting,
    optIn: flags.optIn,
    signal: controller.signal,
    ...(progress.onProgress ? { onProgress: progress.onProgress, progressIntervalMs: progress.intervalMs } : {}),
  };
  let result;
  try {
    result = await simulateFleet(options);
  } finally {
    progress.end();
    process.removeListener('SIGINT', onSignal);
  }
  const watched = await rolloutsAfter(Object.keys(result.rollouts), server, flags, io);
  const states = watched && Object.fromEntries(watched.map((r) => [r.id, { state: r.state, lastHalt: r.lastHalt ?? null }]));
  if (flags.json) println(io.out, JSON.stringify(states ? { ...result, rolloutStates: states } : result, null, 2));
  else {
    for (const line of summaryLines(result)) println(io.out, line);
    for (const r of watched ?? []) {
      const notice = haltNotice(r);
      if (notice.length) println(io.out, ['', ...notice].join('\n'));
      else println(io.out, `\nrollout ${r.id}: ${r.state} after the run`);
    }
  }
  if (controller.signal.aborted) {
    println(io.err, 'ota: interrupted: the tally above is what the devices saw until then');
    return 130; // 128 + SIGINT, as a shell reports an interrupted command
  }
  if (result.enrolled === 0) {
    println(io.err, `ota: no device could enroll (${Object.entries(result.enrollErrors).map(([k, n]) => `${k}: ${n}`).join(', ') || 'out of time'})`);
    return 1;
  }
  return 0;
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
      exit(await fleetSimulate({ ...flags, factorySetting: flags.factorySetting ?? { 'cloud.messaging.enabled': true } }, io));
    });
}
