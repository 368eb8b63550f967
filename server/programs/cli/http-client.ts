import type { Command } from 'commander';
import { CliError, describeError, println, type CliIo } from './io.js';
import { resolveServer, resolveToken } from './profile.js';

/** The options every command that talks to a server takes (each falls back to env, then the `ota login` profile). */
export interface ServerOptions {
  server?: string;
  token?: string;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/v1/cohorts/qa`; path segments already encoded. */
  path: string;
  /** A JSON body, serialised here. */
  json?: unknown;
  /** Any other body, opened only once the request is sure to be sent (streams get `duplex: 'half'`). */
  body?: () => ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  /** A line printed after an error body with this code (the command that fixes it). */
  hint?: (code: string) => string | undefined;
}

/** A 2xx answer. */
export interface ApiReply {
  status: number;
  statusText: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: unknown;
  text: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { path?: string; code?: string; message: string }[] };
}

const isErrorBody = (v: unknown): v is ErrorBody =>
  typeof (v as ErrorBody | null)?.error?.code === 'string' && typeof (v as ErrorBody).error.message === 'string';

/** The --server option as a URL: http(s) only, else one clear CLI error. */
export function serverUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:8080, got "${server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http(s) URL, got "${server}"`);
  return url;
}

export const endpoint = (server: string, path: string): string => `${serverUrl(server).href.replace(/\/+$/, '')}${path}`;

/** --token, else OTA_TOKEN, else the profile; the token itself is never printed. */
function bearer(opts: ServerOptions, io: CliIo): string {
  const token = resolveToken(opts.token, io);
  if (!token) throw new CliError('no operator token: pass --token, set OTA_TOKEN, or run ota login --server URL --token T');
  return `Bearer ${token}`;
}

/**
 * The message without the details' own text: a refused publish says
 * "release X refused: A; B" and then lists A and B as details (§7 "422 with
 * every reason"), so printing both would say each reason twice (issue 18).
 */
function headOf(message: string, details: readonly { message: string }[]): string {
  const joined = `: ${details.map((d) => d.message).join('; ')}`;
  return details.length > 0 && message.endsWith(joined) ? `${message.slice(0, -joined.length)}:` : message;
}

/** Prints a protocol §7 error body: `ota: code: message`, then one line per detail, each reason once. */
function printErrorBody(body: ErrorBody, io: CliIo): void {
  const details = body.error.details ?? [];
  println(io.err, `ota: ${body.error.code}: ${headOf(body.error.message, details)}`);
  for (const d of details) {
    println(io.err, `  - ${[d.code, d.path].filter(Boolean).join(' ')}${d.code || d.path ? ': ' : ''}${d.message}`);
  }
}

/**
 * A refused answer (not 2xx): its §7 error body printed as every command
 * prints it; the body's error, or a CliError when the answer is not one.
 */
export function printRefusal(res: { status: number; statusText: string }, body: unknown, url: string, io: CliIo): ErrorBody['error'] {
  if (!isErrorBody(body)) throw new CliError(`HTTP ${res.status} ${res.statusText} from ${url}`);
  printErrorBody(body, io);
  return body.error;
}

/** The body of an answer as JSON, or undefined when it is empty or not JSON. */
export function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one authenticated request. Resolves to the reply on 2xx; on an error
 * body prints it (printErrorBody) and resolves to undefined, so the command
 * exits 1. Anything else (unreachable, a non-protocol error) throws CliError.
 */
export async function apiRequest(opts: ServerOptions, io: CliIo, req: ApiRequest): Promise<ApiReply | undefined> {
  const url = endpoint(resolveServer(opts.server, io), req.path);
  const headers: Record<string, string> = { Authorization: bearer(opts, io), Accept: 'application/json', ...req.headers };
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers };
  if (req.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(req.json);
  } else if (req.body) {
    init.body = req.body();
    init.duplex = 'half';
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? describeError(e)}`);
  }
  const text = await res.text();
  const body = parseBody(text);
  if (res.ok) return { status: res.status, statusText: res.statusText, body, text };
  const refused = printRefusal(res, body, url, io);
  const hint = req.hint?.(refused.code);
  if (hint) println(io.err, `ota: ${hint}`);
  return undefined;
}

/** The reply as the server sent it: JSON pretty-printed on stdout (for scripts). */
export function printJson(reply: ApiReply, io: CliIo): void {
  println(io.out, reply.body === undefined ? reply.text : JSON.stringify(reply.body, null, 2));
}

/** Follows `nextCursor` pages of a list endpoint (`{ [key]: [...], nextCursor }`; `path` may carry filters); undefined if a page failed. */
export async function fetchAll<T>(opts: ServerOptions, io: CliIo, path: string, key: string, limit: number): Promise<T[] | undefined> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor !== null ? { cursor } : {}) });
    const reply = await apiRequest(opts, io, { method: 'GET', path: `${path}${path.includes('?') ? '&' : '?'}${query}` });
    if (!reply) return undefined;
    const page = reply.body as Record<string, unknown> & { nextCursor?: string | null };
    items.push(...((page[key] as T[] | undefined) ?? []));
    cursor = page.nextCursor ?? null;
  } while (cursor !== null);
  return items;
}

/** `--server` and `--token` on a command: flag, else environment, else the `ota login` profile. */
export const serverOptions = (cmd: Command): Command =>
  cmd
    .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080 (default: $OTA_SERVER, then ota login)')
    .option('--token <token>', 'operator token (default: $OTA_TOKEN, then ota login)');

/** A path segment: identifiers are checked by the server (400), never able to escape the path. */
export const segment = (value: string): string => encodeURIComponent(value);
