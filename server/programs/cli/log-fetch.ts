import { endpoint } from './http-client.js';
import { CliError, describeError } from './io.js';

/** Unauthenticated GETs of the public log and trust routes (protocol §7, §8), for outside parties. */
export async function get(server: string, path: string): Promise<{ status: number; text: string }> {
  const url = endpoint(server, path);
  try {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new CliError(`cannot reach ${url}: ${cause?.code ?? describeError(e)}`);
  }
}

export async function getJson(server: string, path: string): Promise<unknown> {
  const res = await get(server, path);
  if (res.status !== 200) throw new CliError(`GET ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    throw new CliError(`GET ${path} did not answer JSON`);
  }
}
