/** One line of the `ota qa verify` report. */
export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface Check {
  verdict: Verdict;
  /** Short kebab-case name, stable for scripts (e.g. `statement-signatures`). */
  name: string;
  /** One sentence: what was verified, or the cause of the failure. */
  message: string;
  /** The offending items (devices, stages, keys...), at most MAX_DETAILS. */
  details?: string[];
}

const MAX_DETAILS = 20;

const capped = (details: readonly string[]): string[] =>
  details.length <= MAX_DETAILS ? [...details] : [...details.slice(0, MAX_DETAILS), `… and ${details.length - MAX_DETAILS} more`];

export const pass = (name: string, message: string): Check => ({ verdict: 'PASS', name, message });
export const skip = (name: string, message: string): Check => ({ verdict: 'SKIP', name, message });
export const fail = (name: string, message: string, details: readonly string[] = []): Check =>
  details.length ? { verdict: 'FAIL', name, message, details: capped(details) } : { verdict: 'FAIL', name, message };

/** PASS with `ok` when there are no problems, otherwise FAIL with `bad` and the problems as details. */
export const verdictOf = (name: string, problems: readonly string[], ok: string, bad: string): Check =>
  problems.length === 0 ? pass(name, ok) : fail(name, bad, problems);

/** One line for a parse error: its message and the details an AppError carries. */
export function errorText(e: unknown): string {
  const details = (e as { details?: { path?: string; message: string }[] }).details ?? [];
  const base = e instanceof Error ? e.message : String(e);
  return details.length ? `${base}: ${details.map((d) => `${d.path ? `${d.path} ` : ''}${d.message}`).join('; ')}` : base;
}
