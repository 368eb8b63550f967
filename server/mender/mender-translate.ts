import { LRUCache } from 'lru-cache';
import semver from 'semver';
import type { AttributeValue } from '../cohorts/cohort.js';
import { AppError } from '../errors.js';
import { parseJsonBytes } from '../http/raw-json-body.js';
import { MODEL_RE } from '../http/params.js';
import type { ReportState } from '../protocol/report-rules.js';

/**
 * Pure translation between Mender's device API and this server's words
 * (protocol §12). No rollout rule lives here: eligibility, stages,
 * auto-halt and timeouts are the core's; this file only maps shapes.
 */

/** protocol §12 status mapping; undefined for a status Mender does not define (400). */
export function reportStateOf(status: string): ReportState | undefined {
  switch (status) {
    case 'downloading':
      return 'downloading';
    case 'installing':
    case 'rebooting':
    case 'pause_before_installing':
    case 'pause_before_committing':
    case 'pause_before_rebooting':
      return 'installing';
    case 'success':
    case 'already-installed':
      return 'applied';
    case 'failure':
      return 'failed';
    default:
      return undefined;
  }
}

/** Statuses the client sends while it still works on the update (answered 409 after a halt or cancel). */
export const inProgress = (state: ReportState): boolean => state === 'downloading' || state === 'installing';

const invalid = (path: string, message: string) => new AppError('validation_failed', 'the request is not valid', { details: [{ path, message }] });

export function parseStatus(body: unknown): { status: string; state: ReportState } {
  const status = (body as { status?: unknown } | null)?.status;
  if (typeof status !== 'string' || status.length > 64) throw invalid('/status', 'status is a string');
  const state = reportStateOf(status);
  if (!state) throw invalid('/status', `"${status.slice(0, 64)}" is not a Mender deployment status`);
  return { status, state };
}

/** Bounds on what the log keeps (protocol §12 "bounded"). */
export const MAX_LOG_MESSAGES = 10_000;
export const MAX_ERROR_CHARS = 512;
const MAX_LINE_CHARS = 4096;

/**
 * protocol §12: the failure's error message is the log's error-level lines,
 * else its last four; joined by newlines, at most 512 characters (the
 * first lines win: they name the cause, later ones its consequences).
 */
export function errorMessageOf(body: unknown): string {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) throw invalid('/messages', 'messages is a list of { level, message, timestamp }');
  if (messages.length > MAX_LOG_MESSAGES) throw invalid('/messages', `at most ${MAX_LOG_MESSAGES} messages`);
  const lines: { level: string; message: string }[] = [];
  for (const [i, m] of messages.entries()) {
    const level = (m as { level?: unknown } | null)?.level;
    const message = (m as { message?: unknown } | null)?.message;
    if (typeof level !== 'string' || typeof message !== 'string') throw invalid(`/messages/${i}`, 'each message has a string level and message');
    lines.push({ level: level.slice(0, 32).toLowerCase(), message: message.slice(0, MAX_LINE_CHARS) });
  }
  const errors = lines.filter((l) => l.level === 'error' || l.level === 'fatal' || l.level === 'panic');
  const chosen = (errors.length ? errors : lines.slice(-4)).map((l) => l.message.trim()).filter((m) => m.length > 0);
  const text = chosen.join('\n');
  return text.length > MAX_ERROR_CHARS ? text.slice(0, MAX_ERROR_CHARS) : text;
}

/** Bounds on inventory (attacker-controlled). */
export const MAX_ATTRIBUTES = 256;
const MAX_ATTRIBUTE_NAME = 128;
const MAX_ATTRIBUTE_VALUE = 1024;
const MAX_VALUE_ITEMS = 64;

/**
 * protocol §12 inventory `[ { name, value } ]`: a list value is kept as its
 * items joined by commas (cohort rules compare scalars).
 */
export function parseInventory(body: unknown): Record<string, AttributeValue> {
  if (!Array.isArray(body)) throw invalid('/', 'the inventory is a list of { name, value }');
  if (body.length > MAX_ATTRIBUTES) throw invalid('/', `at most ${MAX_ATTRIBUTES} attributes`);
  const out: Record<string, AttributeValue> = {};
  for (const [i, a] of body.entries()) {
    const name = (a as { name?: unknown } | null)?.name;
    const value = (a as { value?: unknown } | null)?.value;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_ATTRIBUTE_NAME) throw invalid(`/${i}/name`, `a name of 1 to ${MAX_ATTRIBUTE_NAME} characters`);
    let v: AttributeValue;
    if (typeof value === 'string') v = value;
    else if (typeof value === 'number' && Number.isFinite(value)) v = value;
    else if (typeof value === 'boolean') v = value;
    else if (Array.isArray(value) && value.length <= MAX_VALUE_ITEMS && value.every((x) => typeof x === 'string' || typeof x === 'number')) v = value.join(',');
    else throw invalid(`/${i}/value`, `a string, a number or a list of at most ${MAX_VALUE_ITEMS} strings`);
    if (typeof v === 'string' && v.length > MAX_ATTRIBUTE_VALUE) throw invalid(`/${i}/value`, `at most ${MAX_ATTRIBUTE_VALUE} characters`);
    out[name] = v;
  }
  return out;
}


/**
 * protocol §12: `device_type` gives the device's model, `artifact_name` its
 * installed version. A device type outside the model grammar leaves the
 * device without a model (offered nothing); an artifact name that is not a
 * semantic version leaves the installed version as it was
 * (docs/protocol-notes.md, "Mender").
 */
export function factsOf(attributes: Readonly<Record<string, AttributeValue>>, current: { model: string; version: string }): { model: string; version: string } {
  const type = attributes.device_type;
  const name = attributes.artifact_name;
  const model = typeof type === 'string' ? (MODEL_RE.test(type) ? type : '') : current.model;
  const version = typeof name === 'string' ? (semver.valid(name) ?? current.version) : current.version;
  return { model, version };
}

/** What `deployments/next` was told about the device: its type and installed artifact (protocol §12). */
export interface Provides {
  deviceType: string | undefined;
  artifactName: string | undefined;
}

/** `device_provides` of deployments/next (v2 body) or the v1 query. */
export function parseProvides(body: unknown): Provides {
  const provides = (body as { device_provides?: unknown } | null)?.device_provides;
  if (typeof provides !== 'object' || provides === null || Array.isArray(provides)) throw invalid('/device_provides', 'device_provides is an object');
  const p = provides as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = p[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > MAX_ATTRIBUTE_VALUE) throw invalid(`/device_provides/${k}`, 'a string');
    return v;
  };
  return { deviceType: str('device_type'), artifactName: str('artifact_name') };
}

/** A `next` body longer than this is parsed every time (a client's is about 100 bytes). */
const MAX_REMEMBERED_BODY = 512;
/**
 * `next` bodies already parsed, by their exact bytes: a fleet sends the same few (one per device type
 * and installed artifact) every poll. Only a body that passed every check is remembered, and the same
 * bytes give the same answer, so a remembered one skips the parse, not a rule.
 */
const provided = new LRUCache<string, Readonly<Provides>>({ max: 1000 });
export const providesOf = (raw: Buffer): Readonly<Provides> => {
  if (raw.length > MAX_REMEMBERED_BODY) return parseProvides(parseJsonBytes(raw));
  // latin1 maps each byte to one character: distinct bodies are distinct keys.
  const key = raw.toString('latin1');
  const known = provided.get(key);
  if (known !== undefined) return known;
  const p = Object.freeze(parseProvides(parseJsonBytes(raw)));
  provided.set(key, p);
  return p;
};

/** protocol §12 deployments/next 200 body. */
export function nextBody(o: { id: string; version: string; models: readonly string[]; uri: string; expires: Date }): string {
  return JSON.stringify({
    id: o.id,
    artifact: {
      artifact_name: o.version,
      device_types_compatible: o.models,
      source: { uri: o.uri, expire: o.expires.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    },
  });
}
