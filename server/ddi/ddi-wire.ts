import semver from 'semver';
import configDataSchema from '../../manifests/schema/api/ddi-config-data.schema.json' with { type: 'json' };
import feedbackSchema from '../../manifests/schema/api/ddi-feedback.schema.json' with { type: 'json' };
import type { AttributeValue } from '../cohorts/cohort.js';
import { AppError } from '../errors.js';
import { MODEL_RE } from '../http/params.js';
import type { Report, ReportState } from '../protocol/report-rules.js';
import { compileValidator } from '../schema/validator.js';

/**
 * hawkBit DDI v1 (protocol §11) to and from this server's words: pure
 * translation, no I/O. What a DDI body means is decided here; what the
 * fleet does with it (eligibility, stages, halts, reports) is the core's.
 */

export interface DdiFeedback {
  status: {
    execution: 'proceeding' | 'scheduled' | 'resumed' | 'download' | 'downloaded' | 'closed' | 'rejected' | 'canceled';
    result: { finished: 'success' | 'failure' | 'none'; progress?: { cnt?: number; of?: number } };
    details?: string[];
  };
}

export interface DdiConfigData {
  data: Record<string, string>;
  mode?: 'merge' | 'replace' | 'remove';
}

export const parseFeedback = compileValidator<DdiFeedback>(feedbackSchema, 'DDI feedback');
export const parseConfigData = compileValidator<DdiConfigData>(configDataSchema, 'DDI configData');

/** protocol §11 error message: at most this many characters. */
export const MAX_ERROR_MESSAGE = 512;
/** Lines of `details` looked at: a client may send a whole log; the rest is not read (never refused for it). */
const MAX_DETAIL_LINES = 1000;

/** What a deploymentBase feedback becomes: a report state (with its error), or nothing to store. */
export type FeedbackMeaning =
  | { kind: 'progress'; state: ReportState }
  | { kind: 'close'; state: ReportState; error?: { code: string; message: string } };

/**
 * protocol §11 table: proceeding, scheduled, resumed → installing; closed +
 * success → applied; closed + failure → failed with the first ERROR line;
 * rejected → declined. `download`/`downloaded` (newer DDI clients) are the
 * native states of the same names; `canceled` closes like a cancel
 * acknowledgement; closed + none is refused (it says neither).
 */
export function meaningOf(f: DdiFeedback): FeedbackMeaning {
  const { execution, result } = f.status;
  switch (execution) {
    case 'proceeding':
    case 'scheduled':
    case 'resumed':
      return { kind: 'progress', state: 'installing' };
    case 'download':
      return { kind: 'progress', state: 'downloading' };
    case 'downloaded':
      return { kind: 'progress', state: 'downloaded' };
    case 'rejected':
      return { kind: 'close', state: 'declined', error: { code: 'ddi_rejected', message: errorLine(f.status.details, 'the device rejected the update') } };
    case 'canceled':
      return { kind: 'close', state: 'declined', error: CANCELLED };
    case 'closed':
      if (result.finished === 'success') return { kind: 'close', state: 'applied' };
      if (result.finished === 'failure') return { kind: 'close', state: 'failed', error: { code: 'ddi_failure', message: errorLine(f.status.details, 'the device reported a failure') } };
      throw new AppError('validation_failed', 'a closed action must say success or failure', { details: [{ path: '/status/result/finished', message: 'closed needs "success" or "failure", not "none"' }] });
  }
}

/** protocol §11: a cancel acknowledgement closes the action as declined, never applied. */
export const CANCELLED = { code: 'cancelled', message: 'the rollout was halted or cancelled; the device acknowledged the cancelAction' } as const;

/** The first details line starting with "ERROR", else the last line, cut to MAX_ERROR_MESSAGE characters. */
export function errorLine(details: readonly string[] | undefined, fallback: string): string {
  const lines = (details ?? []).slice(0, MAX_DETAIL_LINES);
  const line = lines.find((l) => l.trimStart().startsWith('ERROR')) ?? lines.findLast((l) => l.trim() !== '') ?? fallback;
  return line.trim().slice(0, MAX_ERROR_MESSAGE) || fallback;
}

/** The report a feedback becomes; the server numbers it (the seq given here is replaced in the transaction). */
export function reportOf(action: { rolloutId: string; releaseId: string }, state: ReportState, at: string, extra: { error?: { code: string; message: string }; version?: string } = {}): Report {
  return { seq: 0, releaseId: action.releaseId, rolloutId: action.rolloutId, state, at, ...extra };
}

/** The device facts a configData sets: its attributes, and the configured attributes' model and version. */
export function factsOf(
  body: DdiConfigData,
  current: Readonly<Record<string, AttributeValue>>,
  names: { model: string; version: string },
  fallbackVersion: string,
): { model: string; version: string; attributes: Record<string, AttributeValue> } {
  const attributes: Record<string, AttributeValue> = body.mode === 'merge' || body.mode === 'remove' ? { ...current } : {};
  for (const [k, v] of Object.entries(body.data)) {
    if (body.mode === 'remove') delete attributes[k];
    else attributes[k] = v;
  }
  const rawModel = attributes[names.model];
  const rawVersion = attributes[names.version];
  let version = fallbackVersion;
  if (rawVersion !== undefined) {
    const v = semver.valid(String(rawVersion));
    if (v === null) {
      throw new AppError('validation_failed', `configData attribute ${names.version} must be the installed version, a semantic version`, {
        details: [{ path: `/data/${names.version}`, message: `"${String(rawVersion).slice(0, 64)}" is not a semantic version` }],
      });
    }
    version = v;
  }
  // protocol §11: a device with no model is offered nothing (no release names the empty model). A
  // model outside the model grammar is no model either, as over Mender (§12): no release can name it.
  const model = rawModel !== undefined && MODEL_RE.test(String(rawModel)) ? String(rawModel) : '';
  return { model, version, attributes };
}

/** `HH:MM:SS` for the base poll's sleep (protocol §11: at least 1 s; SWUpdate reads 00:00:00 as 45 s). */
export function sleepOf(seconds: number): string {
  const s = Math.max(1, Math.floor(seconds));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** protocol §11 actions: a decimal integer from 1 to 2147483647 (clients read it as a 32-bit int). */
export const MAX_ACTION_ID = 2147483647;

export function parseActionId(raw: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > MAX_ACTION_ID) throw new AppError('bad_request', 'actionId must be a decimal integer from 1 to 2147483647');
  return Number(raw);
}

export type Authorization = { kind: 'target' | 'gateway'; token: string };

// hawkBit's schemes; RFC 9110 §11.1: case-insensitive.
const DDI_AUTH_RE = /^(TargetToken|GatewayToken) +([A-Za-z0-9_-]{16,200})$/i;

/** protocol §11 auth header; anything else (a Bearer token included) is 401. */
export function authorizationOf(header: string | undefined): Authorization {
  const m = header === undefined ? null : DDI_AUTH_RE.exec(header);
  if (!m) {
    throw new AppError('unauthorized', 'the DDI API takes "Authorization: TargetToken <device token>" or "GatewayToken <gateway token>"', {
      headers: { 'WWW-Authenticate': 'TargetToken, GatewayToken' },
    });
  }
  return { kind: (m[1] as string).toLowerCase() === 'targettoken' ? 'target' : 'gateway', token: m[2] as string };
}

export interface DeploymentInput {
  actionId: number;
  releaseId: string;
  version: string;
  mandatory: boolean;
  /** protocol §7: the stage's maintenance window is closed now. */
  outsideWindow?: boolean;
  artifact: { sha256: string; size: number; sha1: string; md5: string; filename: string; href: string };
}

/** GET …/deploymentBase/{actionId} (protocol §11). */
export function deploymentBaseOf(d: DeploymentInput): unknown {
  const mode = d.mandatory ? 'forced' : 'attempt';
  const a = d.artifact;
  return {
    id: String(d.actionId),
    deployment: {
      download: mode,
      // protocol §7: outside the stage's maintenance window, "skip" (hawkBit's word): download, do not install yet.
      ...(d.outsideWindow ? { update: 'skip', maintenanceWindow: 'unavailable' } : { update: mode }),
      chunks: [{
        part: 'os',
        name: d.releaseId,
        version: d.version,
        artifacts: [{
          filename: a.filename,
          size: a.size,
          hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 },
          _links: { download: { href: a.href }, 'download-http': { href: a.href }, md5sum: { href: `${a.href}.MD5SUM` } },
        }],
      }],
    },
  };
}
