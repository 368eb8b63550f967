import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The first port the kernel hands out for listen(0) and outgoing connections (Linux; 32768 elsewhere). */
function firstEphemeralPort(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

const listensNow = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });

/**
 * A port nothing listens on, below the kernel's ephemeral range. A port
 * taken with listen(0) and released is handed to the next listen(0) of any
 * test running beside this one (the suite runs files in parallel), so a
 * test that expected ECONNREFUSED there, or listened on it later, failed
 * now and then; listen(0) never hands out a port below the range, so this
 * one stays unused unless the test itself listens on it.
 */
export async function unusedPort(): Promise<number> {
  const high = firstEphemeralPort();
  const low = Math.max(1024, high - 12_000);
  for (let tries = 0; tries < 100; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (!(await listensNow(port))) return port;
  }
  throw new Error(`no unused port between ${low} and ${high}`);
}
