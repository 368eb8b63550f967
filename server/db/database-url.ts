/** OTA_DATABASE_URL checks without loading a driver (config.ts uses them at start-up). */

export class DatabaseUrlError extends Error {}

const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

/** OTA_DATABASE_URL as given, or undefined when unset or blank (then: SQLite in the data folder). */
export function databaseUrlOf(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const url = env.OTA_DATABASE_URL?.trim();
  return url === undefined || url === '' ? undefined : url;
}

/** Throws DatabaseUrlError unless `url` is a postgres:// URL; the message never repeats the URL (it may hold a password). */
export function checkDatabaseUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError('OTA_DATABASE_URL is not a URL; expected postgres://user:password@host:port/database');
  }
  if (!POSTGRES_SCHEMES.includes(parsed.protocol)) {
    throw new DatabaseUrlError(`OTA_DATABASE_URL must be a postgres:// or postgresql:// URL, not ${parsed.protocol}//; unset it for the embedded SQLite database`);
  }
}

/** The URL without its password, for logs and messages ("postgres://ota:***@db:5432/ota"). */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable database URL)';
  }
}
