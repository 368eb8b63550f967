import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { simulateFleet, type FleetOptions, type FleetProgress } from '../fleet/fleet-simulator.js';
import type { FleetTally } from '../fleet/fleet-tally.js';
import { progressLine, summaryLines } from '../fleet/fleet-summary.js';
import { parseRoot } from '../../protocol/trust/root.js';
import type { SettingValue } from '../../protocol/trust/settings-policy.js';
import type { RolloutView } from '../../openapi/api-types.generated.js';
import { parseFile } from './cli-files.js';
import { CliError, println, type CliIo } from './io.js';
import { haltNotice, type WatchedRollout } from './halt-notice.js';
import { apiRequest, fetchAll, segment, serverUrl } from './http-client.js';
import { formatPercent } from './rollout-spec.js';
import { resolveServer, resolveToken } from './profile.js';

export interface SimulateFlags {
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

/**
 * A DDI deploymentBase names the release, not the rollout (protocol §11), so a DDI run's tally
 * is keyed by release. With a reader's token, each release is re-keyed by the rollout that
 * offered it: the one not in draft, preferring one still serving (a release is served by one
 * rollout at a time, §5); a release no rollout names keeps its key.
 */
async function keyedByRollout(tally: FleetTally['rollouts'], server: string, flags: SimulateFlags, io: CliIo): Promise<{ tally: FleetTally['rollouts']; rolloutIds: string[] }> {
  const token = resolveToken(flags.token, io);
  const unchanged = { tally, rolloutIds: Object.keys(tally) };
  if (!token || Object.keys(tally).length === 0) return unchanged;
  const rollouts = await fetchAll<RolloutView>({ server, token }, io, '/v1/rollouts', 'rollouts', 1000);
  if (!rollouts) return unchanged;
  const rank = (r: RolloutView): number => (['running', 'paused', 'completed'].includes(r.state) ? 2 : r.state === 'draft' ? 0 : 1);
  // Serving first, then the most recently changed (a release halted, cloned and halted again).
  const order = (a: RolloutView, b: RolloutView): number => rank(b) - rank(a) || b.updatedAt.localeCompare(a.updatedAt);
  const out: FleetTally['rollouts'] = {};
  const rolloutIds: string[] = [];
  for (const [releaseId, t] of Object.entries(tally)) {
    const best = rollouts.filter((r) => r.releaseId === releaseId && rank(r) > 0).sort(order)[0];
    out[best?.id ?? releaseId] = { ...t, releaseId };
    // A release no rollout names is no rollout to look up after the run.
    if (best) rolloutIds.push(best.id);
  }
  return { tally: out, rolloutIds };
}

/**
 * A run in which no device was offered anything does not say why by itself
 * (issue 18: the demo rollout sits at its `qa` stage, which offers only the
 * members of cohort qa). Say which rollouts serve and whom their reached
 * stages offer (protocol §5), with a reader's token; without one, say so.
 */
async function whyNoOffers(server: string, flags: SimulateFlags, io: CliIo): Promise<string[]> {
  const token = resolveToken(flags.token, io);
  if (!token) return ['ota: no device was offered an update; pass --token (or set OTA_TOKEN) with a viewer token to see which rollouts run, at which stage and for which cohort'];
  const rollouts = await fetchAll<RolloutView>({ server, token }, io, '/v1/rollouts', 'rollouts', 1000);
  if (!rollouts) return [];
  // protocol §5: completed rollouts keep serving their release; paused ones keep only their earlier offers.
  const serving = rollouts.filter((r) => ['running', 'paused', 'completed'].includes(r.state));
  if (!serving.length) return ['ota: no device was offered an update: no rollout is running (ota rollout list)'];
  return [
    'ota: no device was offered an update. Rollouts serving now, and whom their reached stages offer (protocol §5):',
    ...serving.map((r) => {
      const reached = r.stages.slice(0, r.currentStage + 1).map((st) => `${st.cohort} at ${formatPercent(st.basisPoints)}`).join(', then ');
      const paused = r.state === 'paused' ? ' (paused: no new offers)' : '';
      return `  ${r.id} (release ${r.releaseId}): ${r.state}${paused}, stage ${r.currentStage + 1} of ${r.stages.length}; offers to cohort ${reached}`;
    }),
    `  simulated devices (${flags.model} ${flags.version}, new ids in no cohort's member list) are offered only by a stage of cohort all`,
    "  or of a rule they match, and only a release for their model and version; `ota rollout advance ID` moves a rollout past a stage such as qa",
  ];
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
  let watch = Object.keys(result.rollouts);
  if (ddi) {
    const keyed = await keyedByRollout(result.rollouts, server, flags, io);
    result = { ...result, rollouts: keyed.tally };
    watch = keyed.rolloutIds;
  }
  const watched = await rolloutsAfter(watch, server, flags, io);
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
  if (result.enrolled > 0 && result.offersSeen === 0) for (const line of await whyNoOffers(server, flags, io)) println(io.err, line);
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
