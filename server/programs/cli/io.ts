import { AppError } from '../../errors.js';

/**
 * Where a command writes and what it may read from its surroundings. The
 * real process supplies stdout/stderr/env; tests pass a capturing one.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  now(): Date;
  /** stderr is a terminal: progress indicators are drawn only then. */
  errIsTTY?: boolean;
  /** `ota serve` closes when this aborts; without it, on SIGINT/SIGTERM. */
  stop?: AbortSignal;
}

/** An expected failure: its message is the one line the user sees. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export const processIo = (): CliIo => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  now: () => new Date(),
  errIsTTY: process.stderr.isTTY,
});

export const println = (write: (text: string) => void, line = ''): void => write(`${line}\n`);

/** One line for any error: its message, plus the details of an AppError; never a stack. */
export function describeError(e: unknown): string {
  if (e instanceof AppError) {
    const details = (e.details ?? []).map((d) => `${d.path ? `${d.path} ` : ''}${d.message}`);
    return details.length ? `${e.message}: ${details.join('; ')}` : e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/** commander argument parsers: integers in a range, RFC 3339 instants. */
export function intOption(name: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new CliError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
}
