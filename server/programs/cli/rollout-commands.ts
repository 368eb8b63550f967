import type { Command } from 'commander';
import actionSchema from '../../../manifests/schema/api/rollout-action.schema.json' with { type: 'json' };
import resumeSchema from '../../../manifests/schema/api/rollout-resume.schema.json' with { type: 'json' };
import type { RolloutDraft } from '../../rollouts/rollout-service.js';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../../rollouts/rollout-state.js';
import type * as Api from '../../openapi/api-types.generated.js';
import { apiRequest, fetchAll, printJson, segment, serverOptions, type ServerOptions } from './http-client.js';
import { CliError, intOption, println, type CliIo } from './io.js';
import { formatPercent, parsePercent, parseStageSpec } from './rollout-spec.js';
import type { FailurePolicy } from '../../rollouts/rollout.js';
import { rolloutRows, rolloutSummary, statusLines, type RolloutView } from './rollout-status-view.js';
import { table } from './text-table.js';

interface JsonOption {
  json?: boolean;
}

interface CreateOptions extends ServerOptions, JsonOption {
  release: string;
  id?: string;
  stage: string[];
  maxFailurePercent: string;
  minTerminal: number;
  reportTimeout: number;
}

/** The POST /v1/rollouts body from the flags; every stage spec checked before anything is sent. */
export function draftOf(opts: Omit<CreateOptions, keyof ServerOptions | 'json'>): RolloutDraft {
  if (!opts.stage.length) throw new CliError('give at least one --stage COHORT:PERCENT[:DWELL_SECONDS[:auto]]');
  return {
    ...(opts.id !== undefined ? { id: opts.id } : {}),
    releaseId: opts.release,
    stages: opts.stage.map(parseStageSpec),
    failurePolicy: {
      maxFailureBasisPoints: parsePercent(opts.maxFailurePercent, '--max-failure-percent'),
      minTerminalReports: opts.minTerminal,
      reportTimeoutSeconds: opts.reportTimeout,
    },
  };
}

function printRollout(body: unknown, opts: JsonOption, io: CliIo, prefix = ''): void {
  if (opts.json) println(io.out, JSON.stringify(body, null, 2));
  else println(io.out, `${prefix}${rolloutSummary(body as RolloutView)}`);
}

/** `ota rollout create`: POST /v1/rollouts → 201, a draft. */
export async function createRollout(opts: CreateOptions, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: '/v1/rollouts', json: draftOf(opts) });
  if (!reply) return 1;
  printRollout(reply.body, opts, io, 'created ');
  return 0;
}

interface ResumeOptions {
  acknowledgeHalt?: boolean;
  reason?: string;
}

/** The server's rules for a reason, from the schemas it validates bodies with: a length, and not only blanks. */
interface ReasonRule {
  minLength: number;
  maxLength: number;
  pattern: string;
}
const RESUME_REASON: ReasonRule = resumeSchema.$defs.reason;
const ACTION_REASON: ReasonRule = actionSchema.properties.reason;

/** The reason as the server would take it, else a CliError saying exactly what is wrong with it (not merely "needs --reason"). */
function checkedReason(reason: string, rule: ReasonRule): string {
  const n = [...reason].length; // JSON Schema counts characters (code points), as the server does
  if (n < rule.minLength || n > rule.maxLength) throw new CliError(`--reason must be ${rule.minLength} to ${rule.maxLength} characters, got ${n}`);
  if (!new RegExp(rule.pattern, 'u').test(reason)) throw new CliError('--reason must say something: it is only blanks');
  return reason;
}

/** protocol §5: resuming a halted rollout sends the acknowledgement and the reason; a paused one needs neither. */
function resumeBody(opts: ResumeOptions): { acknowledgeHalt: true; reason: string } | undefined {
  if (opts.acknowledgeHalt === undefined && opts.reason === undefined) return undefined;
  if (!opts.acknowledgeHalt) throw new CliError('--reason goes with --acknowledge-halt (resuming a halted rollout)');
  if (opts.reason === undefined) throw new CliError('--acknowledge-halt needs --reason TEXT: why it is safe to go on (kept in the audit log)');
  return { acknowledgeHalt: true, reason: checkedReason(opts.reason, RESUME_REASON) };
}

/** The body of an action: resume's (above); a halt's optional reason, kept in the audit log and on lastHalt (protocol-notes). */
function actionBody(action: RolloutAction, opts: ResumeOptions): { reason?: string; acknowledgeHalt?: true } | undefined {
  if (action === 'resume') return resumeBody(opts);
  return opts.reason === undefined ? undefined : { reason: checkedReason(opts.reason, ACTION_REASON) };
}

/** `ota rollout start|pause|resume|advance|halt|cancel ID`: POST /v1/rollouts/{id}/{action}; a refused transition is the server's 409. */
export async function actOnRollout(id: string, action: RolloutAction, opts: ServerOptions & JsonOption & ResumeOptions, io: CliIo): Promise<number> {
  const json = actionBody(action, opts);
  const reply = await apiRequest(opts, io, { method: 'POST', path: `/v1/rollouts/${segment(id)}/${action}`, ...(json ? { json } : {}) });
  if (!reply) return 1;
  printRollout(reply.body, opts, io);
  const view = reply.body as RolloutView;
  // Only when this resume overruled a halt (a paused rollout ignores the acknowledgement).
  if (action === 'resume' && json && !opts.json && view.overruledHalt?.at === view.updatedAt) {
    println(io.err, `halt overruled on the record (audit entry #${view.overruledHalt.auditSeq}, with your reason); the terminal counts are kept and auto-halt now judges new reports`);
  }
  return 0;
}

/** `ota rollout clone ID [--id NEW]`: POST /v1/rollouts/{id}/clone → a fresh draft with the same settings and a new salt. */
export async function cloneRollout(id: string, opts: ServerOptions & JsonOption & { id?: string }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: `/v1/rollouts/${segment(id)}/clone`, json: opts.id === undefined ? {} : { id: opts.id } });
  if (!reply) return 1;
  printRollout(reply.body, opts, io, 'created ');
  if (!opts.json) println(io.err, `start it with: ota rollout start ${(reply.body as RolloutView).id}`);
  return 0;
}

/** `ota rollout list`: every page of GET /v1/rollouts. */
export async function listRollouts(opts: ServerOptions & JsonOption, io: CliIo): Promise<number> {
  const rollouts = await fetchAll<RolloutView>(opts, io, '/v1/rollouts', 'rollouts', 1000);
  if (!rollouts) return 1;
  if (opts.json) println(io.out, JSON.stringify({ rollouts, nextCursor: null }, null, 2));
  else if (!rollouts.length) println(io.out, 'no rollouts');
  else for (const line of rolloutRows(rollouts)) println(io.out, line);
  return 0;
}

/** `ota rollout status ID`: GET /v1/rollouts/{id}/status as tables, or `--json` the body as it came. */
export async function rolloutStatus(id: string, opts: ServerOptions & JsonOption, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: `/v1/rollouts/${segment(id)}/status` });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else for (const line of statusLines(reply.body as Api.RolloutStatus)) println(io.out, line);
  return 0;
}

/** One row of GET /v1/rollouts/{id}/devices. */
type DeviceRow = Api.RolloutDevices['devices'][number];

/**
 * `ota rollout devices ID [--state S]`: the first --limit devices of
 * GET /v1/rollouts/{id}/devices, with the error code of each failure and
 * a count per code (why a rollout halted, device by device).
 */
export async function rolloutDevices(id: string, opts: ServerOptions & JsonOption & { state?: string; limit: number }, io: CliIo): Promise<number> {
  const devices: DeviceRow[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(1000, opts.limit - devices.length)), ...(opts.state ? { state: opts.state } : {}), ...(cursor !== null ? { cursor } : {}) });
    const reply = await apiRequest(opts, io, { method: 'GET', path: `/v1/rollouts/${segment(id)}/devices?${query}` });
    if (!reply) return 1;
    const page = reply.body as { devices: DeviceRow[]; nextCursor: string | null };
    devices.push(...page.devices);
    cursor = page.nextCursor;
  } while (cursor !== null && devices.length < opts.limit);
  if (opts.json) {
    println(io.out, JSON.stringify({ devices, nextCursor: cursor }, null, 2));
    return 0;
  }
  const what = opts.state ? `${opts.state} devices` : 'devices offered';
  if (!devices.length) {
    println(io.out, `no ${what} in rollout ${id}`);
    return 0;
  }
  const rows = devices.map((d) => [d.deviceId, d.stage + 1, d.state, d.stateAt, d.lastSeen, d.error ? `${d.error.code}: ${d.error.message}` : null]);
  for (const line of table(['DEVICE', 'STAGE', 'STATE', 'STATE AT', 'LAST SEEN', 'ERROR'], rows)) println(io.out, line);
  const codes = new Map<string, number>();
  for (const d of devices) if (d.error) codes.set(d.error.code, (codes.get(d.error.code) ?? 0) + 1);
  if (codes.size) println(io.out, `\nerror codes: ${[...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (cursor !== null) println(io.out, `(first ${devices.length} ${what}; --limit N for more, --json for the cursor)`);
  return 0;
}

interface PolicyOptions extends ServerOptions, JsonOption {
  maxFailurePercent?: string;
  minTerminal?: number;
  reportTimeout?: number;
  reason?: string;
}

/**
 * `ota rollout policy ID`: PATCH /v1/rollouts/{id} with the rollout's failure
 * policy, the values given replacing the current ones (protocol §7).
 */
export async function changeFailurePolicy(id: string, opts: PolicyOptions, io: CliIo): Promise<number> {
  if (opts.maxFailurePercent === undefined && opts.minTerminal === undefined && opts.reportTimeout === undefined) {
    throw new CliError('nothing to change: give --max-failure-percent, --min-terminal and/or --report-timeout');
  }
  const maxFailureBasisPoints = opts.maxFailurePercent === undefined ? undefined : parsePercent(opts.maxFailurePercent, '--max-failure-percent');
  const current = await apiRequest(opts, io, { method: 'GET', path: `/v1/rollouts/${segment(id)}` });
  if (!current) return 1;
  const before = (current.body as { failurePolicy: FailurePolicy }).failurePolicy;
  const failurePolicy: FailurePolicy = {
    maxFailureBasisPoints: maxFailureBasisPoints ?? before.maxFailureBasisPoints,
    minTerminalReports: opts.minTerminal ?? before.minTerminalReports,
    reportTimeoutSeconds: opts.reportTimeout ?? before.reportTimeoutSeconds,
  };
  const reply = await apiRequest(opts, io, { method: 'PATCH', path: `/v1/rollouts/${segment(id)}`, json: { failurePolicy, ...(opts.reason ? { reason: opts.reason } : {}) } });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else {
    const r = reply.body as RolloutView & { failurePolicy: FailurePolicy };
    const p = r.failurePolicy;
    println(io.out, `rollout ${r.id} failure policy: halt above ${formatPercent(p.maxFailureBasisPoints)} of at least ${p.minTerminalReports} terminal reports; timed_out after ${p.reportTimeoutSeconds} s (was ${formatPercent(before.maxFailureBasisPoints)} / ${before.minTerminalReports} / ${before.reportTimeoutSeconds} s)`);
    if (r.state === 'halted') println(io.out, `HALTED: rollout ${r.id} already crosses the new threshold (ota rollout status ${r.id})`);
  }
  return 0;
}

const ACTION_HELP: Record<RolloutAction, string> = {
  start: 'start a draft at its first stage',
  pause: 'stop new offers (devices already offered keep theirs)',
  resume: 'resume a paused rollout, or a halted one with --acknowledge-halt --reason TEXT',
  advance: 'move to the next stage (after the last: completed)',
  halt: 'stop all offers (running or paused)',
  cancel: 'cancel for good',
};

const jsonOption = (cmd: Command, what = 'print the server JSON as it is (for scripts)'): Command => cmd.option('--json', what);

export function registerRollout(program: Command, io: CliIo, exit: (code: number) => void): void {
  const rollout = program.command('rollout').description('staged rollouts of a published release (protocol §5)');
  jsonOption(serverOptions(rollout.command('create').description('create a draft rollout (POST /v1/rollouts)')))
    .requiredOption('--release <id>', 'published release id')
    .option('--id <id>', 'rollout id (default: generated from the release id)')
    .requiredOption('--stage <specs...>', 'stages in order, each COHORT:PERCENT[:DWELL_SECONDS[:auto]], e.g. --stage qa:100 all:0.5:86400:auto all:100')
    .requiredOption('--max-failure-percent <p>', 'halt when failures exceed this share of terminal reports, e.g. 5 or 2.5')
    .requiredOption('--min-terminal <n>', 'terminal reports needed before the failure rate can halt', intOption('--min-terminal', 1, 100_000_000))
    .requiredOption('--report-timeout <seconds>', 'a device offered the release that reports nothing terminal for this long counts as timed_out', intOption('--report-timeout', 1, 31_536_000))
    .action(async (opts: CreateOptions) => exit(await createRollout(opts, io)));
  for (const action of ROLLOUT_ACTIONS) {
    const cmd = jsonOption(serverOptions(rollout.command(action).description(`${ACTION_HELP[action]} (POST /v1/rollouts/{id}/${action})`).argument('<id>', 'rollout id')));
    if (action === 'resume') {
      cmd.option('--acknowledge-halt', 'overrule a halt (protocol §5): the rollout resumes with its counts kept, on the record')
        .option('--reason <text>', `why it is safe to go on (with --acknowledge-halt; kept in the audit log, ${RESUME_REASON.minLength} to ${RESUME_REASON.maxLength} characters)`);
    }
    // The server takes a reason with every action (its audit entry; a halt's also shows it on lastHalt).
    else cmd.option('--reason <text>', `why (kept in the audit log${action === 'halt' ? ' and shown with the halt' : ''}, ${ACTION_REASON.minLength} to ${ACTION_REASON.maxLength} characters)`);
    cmd.action(async (id: string, opts: ServerOptions & JsonOption & ResumeOptions) => exit(await actOnRollout(id, action, opts, io)));
  }
  jsonOption(serverOptions(rollout.command('clone').description('a fresh draft with this rollout\'s release, stages and failure policy, and a new salt (POST /v1/rollouts/{id}/clone)').argument('<id>', 'rollout id to copy')))
    .option('--id <id>', 'id of the new rollout (default: generated from the release id)')
    .action(async (id: string, opts: ServerOptions & JsonOption & { id?: string }) => exit(await cloneRollout(id, opts, io)));
  jsonOption(serverOptions(rollout.command('policy').description("change a running or paused rollout's failure policy; the values not given are kept (PATCH /v1/rollouts/{id})").argument('<id>', 'rollout id')))
    .option('--max-failure-percent <p>', 'halt when failures exceed this share of terminal reports, e.g. 5 or 2.5')
    .option('--min-terminal <n>', 'terminal reports needed before the failure rate can halt', intOption('--min-terminal', 1, 100_000_000))
    .option('--report-timeout <seconds>', 'a device that reports nothing terminal for this long counts as timed_out', intOption('--report-timeout', 1, 31_536_000))
    .option('--reason <text>', 'why (kept in the audit log, 3 to 500 characters)')
    .action(async (id: string, opts: PolicyOptions) => exit(await changeFailurePolicy(id, opts, io)));
  jsonOption(serverOptions(rollout.command('list').description('list rollouts (GET /v1/rollouts)')))
    .action(async (opts: ServerOptions & JsonOption) => exit(await listRollouts(opts, io)));
  jsonOption(serverOptions(rollout.command('devices').description('devices the rollout offered its release to, with state, last seen and error codes (GET /v1/rollouts/{id}/devices)').argument('<id>', 'rollout id')))
    .option('--state <state>', 'only devices in this state: a report state, timed_out or silent (e.g. failed)')
    .option('--limit <n>', 'at most this many devices', intOption('--limit', 1, 10_000_000), 100)
    .action(async (id: string, opts: ServerOptions & JsonOption & { state?: string; limit: number }) => exit(await rolloutDevices(id, opts, io)));
  jsonOption(serverOptions(rollout.command('status').description('state, counts, failure rate, settings compliance, stages and silent devices (GET /v1/rollouts/{id}/status)').argument('<id>', 'rollout id')), 'print the raw status JSON (for scripts)')
    .action(async (id: string, opts: ServerOptions & JsonOption) => exit(await rolloutStatus(id, opts, io)));
}
